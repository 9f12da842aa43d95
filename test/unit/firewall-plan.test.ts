/** The hosts' allow-list (components/edge/firewall-plan.ts): what it trusts, from which settings, and the checks of those settings. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { checkOverlay, checkSources } from "../../components/edge/validation";
import { OVERLAY_DEFAULTS, edgeFirewall, frontendAddressesOf, overlayFirewall } from "../../components/edge/firewall-plan";
import { cloudFirewallRules, firewallScript } from "../../components/edge/host-scripts";
import { addressOrCidr, parseAddressOrCidr } from "../../components/validation";

const connection = (endpoint: pulumi.Input<string> | undefined) => ({ connection: { endpoint, username: "oneadmin" } });

describe("the hosts' allow-list", function () {
    it("trusts the private range, the front-end, the overlay's subnet and the extra sources, in that order", function () {
        const args = edgeFirewall({
            firewall: { mode: "open", extraPorts: [{ port: 443 }], trustedSources: ["2001:db8::/64"] },
            privateRange: "10.0.0.0/16",
            frontendAddresses: ["198.51.100.7"],
            overlay: { listenPort: 51821, subnet: "10.99.0.0/24", interfaceName: "wgedge" },
        });
        assert.deepEqual(args, {
            mode: "open",
            extraPorts: [{ port: 443 }],
            wireguardPort: 51821,
            overlayInterface: "wgedge",
            trustedSources: ["10.0.0.0/16", "198.51.100.7", "10.99.0.0/24", "2001:db8::/64"],
        });
        const env = firewallScript(args).environment;
        assert.equal(env.FIREWALL_TRUSTED_SOURCES, "10.0.0.0/16 198.51.100.7/32 10.99.0.0/24 2001:db8::/64");
        assert.equal(env.FIREWALL_OVERLAY_INTERFACE, "wgedge");
        assert.deepEqual(cloudFirewallRules(args).find((rule) => rule.key === "vnc")!.sources, [
            "10.0.0.0/16",
            "198.51.100.7/32",
            "10.99.0.0/24",
            "2001:db8::/64",
        ]);
    });

    it("without an overlay: the mesh's default port and interface stay usable, but no overlay subnet is trusted", function () {
        assert.deepEqual(overlayFirewall(undefined), { wireguardPort: 51820, overlayInterface: "wg0", overlaySubnet: undefined });
        assert.deepEqual(edgeFirewall({}).trustedSources, []);
        assert.deepEqual(overlayFirewall({}), {
            wireguardPort: OVERLAY_DEFAULTS.listenPort,
            overlayInterface: OVERLAY_DEFAULTS.interfaceName,
            overlaySubnet: OVERLAY_DEFAULTS.subnet,
        });
        assert.deepEqual(
            cloudFirewallRules(edgeFirewall({})).map((rule) => rule.key),
            ["ssh", "wireguard", "icmp"],
            "nothing guarded is opened for nobody",
        );
    });

    it("takes the front-end from frontendAddresses, else from an endpoint that is an IP address, else none", function () {
        assert.deepEqual(frontendAddressesOf({ ...connection("http://203.0.113.5:2633/RPC2"), frontendAddresses: ["10.0.1.87"] }), [
            "10.0.1.87",
        ]);
        assert.deepEqual(frontendAddressesOf(connection("http://203.0.113.5:2633/RPC2")), ["203.0.113.5"]);
        assert.deepEqual(frontendAddressesOf(connection("https://[2001:db8::5]:2633/RPC2")), ["2001:db8::5"]);
        assert.deepEqual(frontendAddressesOf(connection("http://frontend.example:2633/RPC2")), [], "a name: unknown where it resolves");
        assert.deepEqual(frontendAddressesOf(connection("http://127.0.0.1:2633/RPC2")), [], "a tunnel's loopback says nothing");
        assert.deepEqual(frontendAddressesOf(connection(pulumi.output("http://203.0.113.5:2633/RPC2"))), [], "not known yet");
        assert.deepEqual(frontendAddressesOf(connection(undefined)), [], "ONE_XMLRPC of the provider process: not the component's to read");
        assert.deepEqual(frontendAddressesOf({}), []);
    });

    it("checks addresses and CIDRs of both families, and the overlay's settings, naming the field", function () {
        assert.equal(parseAddressOrCidr("10.0.0.5/16"), "10.0.0.0/16");
        assert.equal(parseAddressOrCidr("2001:db8::1"), "2001:db8::1/128");
        for (const bad of ["10.1", "10.0.0.0/33", "0.0.0.0/0 -j ACCEPT", "", 7])
            assert.equal(parseAddressOrCidr(bad), undefined, String(bad));
        assert.throws(() => addressOrCidr("x", "10.1"), /^ConfigError: x: must be an IPv4 or IPv6 address or CIDR/);
        assert.throws(
            () => checkSources("firewall.trustedSources", ["10.0.0.0/8", "nope"]),
            /^ConfigError: firewall\.trustedSources\[1\]: must be an IPv4 or IPv6 address/,
        );
        assert.throws(
            () => checkSources("opennebula.frontendAddresses", "10.0.0.1"),
            /^ConfigError: opennebula\.frontendAddresses: must be a list/,
        );
        assert.throws(() => checkOverlay({ listenPort: 0 }), /^ConfigError: overlay\.listenPort: must be an integer from 1 to 65535/);
        assert.throws(() => checkOverlay({ interfaceName: "wg 0" }), /^ConfigError: overlay\.interfaceName: must be an interface name/);
        assert.throws(() => checkOverlay({ subnet: "192.168.0.1/24" }), /^ConfigError: overlay\.subnet: must be a network address/);
        checkOverlay({ listenPort: 51821, interfaceName: "wg0", subnet: "10.99.0.0/24" });
    });
});
