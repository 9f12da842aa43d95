/** EdgeVirtualRouter under mocks: the appliance export, the router's two NICs, the SDNAT context, addresses and validation. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeVirtualRouterArgs } from "../../components/router";
import { EDGE_VIRTUAL_ROUTER_TYPE, EdgeVirtualRouter } from "../../components/router";
import { VirtualNetwork } from "../../components/opennebula/resources/virtual-network";
import { runProgram } from "../support/pulumi-mocks";
import { unwrapSecrets, valueOf } from "./overlay-fixtures";

const MARKETPLACE_APP = "pulumi-nodejs:dynamic/opennebula-edge:MarketplaceApp";
const VIRTUAL_ROUTER = "pulumi-nodejs:dynamic/opennebula-edge:VirtualRouter";

/** The seed's public pool: five addresses, one for the router. */
const POOL = ["10.0.1.16", "10.0.1.17", "10.0.1.18", "10.0.1.19", "10.0.1.20"];

/** The seed's layout: public network 3, EVPN network 7 (172.17.2.0/24, first lease 172.17.2.1), image datastore 101. */
function seedArgs(extra: Partial<EdgeVirtualRouterArgs> = {}): EdgeVirtualRouterArgs {
    return {
        publicNetwork: { id: 3, addresses: [...POOL] },
        privateNetwork: { id: 7, gateway: "172.17.2.1", subnet: "172.17.2.0/24" },
        appliance: { datastoreId: 101 },
        connection: { endpoint: "http://10.0.1.87:2633/RPC2", username: "oneadmin", password: pulumi.secret("opennebula") },
        ...extra,
    };
}

/** The appliance's template ID and the VM's addresses, as the providers would output them. */
function outputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    if (args.type === MARKETPLACE_APP) return { templateId: 42, imageId: 17, oneId: 17 };
    if (args.type === VIRTUAL_ROUTER) return { oneId: 5, ips: args.inputs.nics.map((nic: { ip: string }) => nic.ip) };
    return {};
}

describe("EdgeVirtualRouter (mocks)", function () {
    it("the seed's router: appliance exported from the marketplace, NIC 0 public, NIC 1 the EVPN network's first lease, SDNAT on eth0 eth1", async function () {
        let router: EdgeVirtualRouter | undefined;
        const program = await runProgram(
            () => {
                router = new EdgeVirtualRouter("router", seedArgs());
            },
            { outputs },
        );
        assert.equal(program.named("router").type, EDGE_VIRTUAL_ROUTER_TYPE);
        assert.deepEqual(program.resources.map((r) => r.name).sort(), ["router", "router-appliance", "router-vrouter"]);
        for (const child of ["router-appliance", "router-vrouter"]) assert.equal(program.named(child).parent, "router");

        const app = program.named("router-appliance");
        assert.equal(app.type, MARKETPLACE_APP);
        assert.equal(app.inputs.appName, "Service Virtual Router");
        assert.equal(app.inputs.datastoreId, 101);
        assert.equal(app.inputs.imageName, "router-appliance");

        const vrouter = program.named("router-vrouter");
        assert.equal(vrouter.type, VIRTUAL_ROUTER);
        assert.equal(vrouter.inputs.name, "router");
        assert.deepEqual(vrouter.inputs.nics, [
            { networkId: 3, ip: "10.0.1.16" },
            { networkId: 7, ip: "172.17.2.1" },
        ]);
        assert.equal(vrouter.inputs.templateId, 42, "the exported appliance's template");
        assert.ok(program.dependsOn("router-vrouter", "router-appliance"), "the router waits for the export");
        assert.deepEqual(vrouter.inputs.context, {
            NETWORK: "YES",
            TOKEN: "YES",
            ONEAPP_VNF_ROUTER4_ENABLED: "YES",
            ONEAPP_VNF_SDNAT4_ENABLED: "YES",
            ONEAPP_VNF_SDNAT4_INTERFACES: "eth0 eth1",
        });

        assert.equal(await valueOf(router!.publicIp), "10.0.1.16");
        assert.equal(await valueOf(router!.privateIp), "172.17.2.1");
        assert.deepEqual(
            await valueOf(router!.sdnatPublicIps),
            ["10.0.1.17", "10.0.1.18", "10.0.1.19", "10.0.1.20"],
            "pool of 5, one for the router → 4",
        );
        assert.deepEqual(await valueOf(router!.mapping), {});
        assert.equal(await valueOf(router!.routerId), 5);
    });

    it("maps private VMs to public addresses in order, explicit ones first, and hands out the VMs' NIC and external alias", async function () {
        let router: EdgeVirtualRouter | undefined;
        await runProgram(
            () => {
                router = new EdgeVirtualRouter(
                    "router",
                    seedArgs({
                        publicIps: 3,
                        mappings: [
                            { privateIp: "172.17.2.10" },
                            { privateIp: "172.17.2.11", publicIp: "10.0.1.17" },
                            { privateIp: "172.17.2.12" },
                        ],
                    }),
                );
            },
            { outputs },
        );
        assert.deepEqual(await valueOf(router!.sdnatPublicIps), ["10.0.1.17", "10.0.1.18", "10.0.1.19"]);
        assert.deepEqual(await valueOf(router!.mapping), {
            "10.0.1.18": "172.17.2.10",
            "10.0.1.17": "172.17.2.11",
            "10.0.1.19": "172.17.2.12",
        });
        assert.deepEqual(router!.vmNetworking("172.17.2.11"), {
            nics: [{ networkId: 7, ip: "172.17.2.11" }],
            nicAliases: [{ networkId: 3, parent: "NIC0", external: true, ip: "10.0.1.17" }],
        });
        assert.deepEqual(
            router!.vmNetworking("172.17.2.30"),
            { nics: [{ networkId: 7, ip: "172.17.2.30" }], nicAliases: [] },
            "an unmapped VM gets only its NIC",
        );
        assert.throws(() => router!.vmNetworking("172.17.2.1"), /router's own address/);
    });

    it("uses an existing template instead of an export, and takes network IDs from other resources", async function () {
        const program = await runProgram(
            () => {
                const publicNet = new VirtualNetwork("ec-public", { vnMad: "bridge", template: { BRIDGE: "br0" } });
                new EdgeVirtualRouter(
                    "router",
                    seedArgs({
                        publicNetwork: { id: publicNet.oneId, addresses: ["10.0.1.16", "10.0.1.17"] },
                        appliance: { templateId: 9 },
                        routerName: "edge-vr",
                        routerPublicIp: "10.0.1.17",
                        outboundNat: true,
                        context: { ONEAPP_VNF_DNS_ENABLED: "YES" },
                        vmTemplate: { SCHED_REQUIREMENTS: "ID = 3" },
                    }),
                );
            },
            { outputs: (args) => (args.name === "ec-public" ? { oneId: 12 } : outputs(args)) },
        );
        assert.equal(program.ofType(MARKETPLACE_APP).length, 0, "no export with an explicit template");
        const vrouter = program.named("router-vrouter");
        assert.equal(vrouter.inputs.templateId, 9);
        assert.equal(vrouter.inputs.name, "edge-vr");
        assert.deepEqual(vrouter.inputs.nics[0], { networkId: 12, ip: "10.0.1.17" });
        assert.ok(vrouter.dependsOn.includes("ec-public"));
        assert.deepEqual(vrouter.inputs.vmTemplate, { SCHED_REQUIREMENTS: "ID = 3" });
        assert.equal(vrouter.inputs.context.ONEAPP_VNF_NAT4_ENABLED, "YES");
        assert.equal(vrouter.inputs.context.ONEAPP_VNF_NAT4_INTERFACES_OUT, "eth0");
        assert.equal(vrouter.inputs.context.ONEAPP_VNF_DNS_ENABLED, "YES");
        assert.equal(vrouter.inputs.context.ONEAPP_VNF_SDNAT4_INTERFACES, "eth0 eth1");
    });

    it("takes public addresses that are known only at deployment (e.g. reserved IPs), checking the count before anything is created", async function () {
        let router: EdgeVirtualRouter | undefined;
        const reserved = ["203.0.113.7", "203.0.113.8", "203.0.113.9"].map((ip) => pulumi.output(ip));
        const program = await runProgram(
            () => {
                router = new EdgeVirtualRouter(
                    "router",
                    seedArgs({
                        publicNetwork: { id: 3, addresses: reserved },
                        mappings: [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.11" }],
                    }),
                );
            },
            { outputs },
        );
        assert.deepEqual(program.named("router-vrouter").inputs.nics[0], { networkId: 3, ip: "203.0.113.7" });
        assert.deepEqual(await valueOf(router!.mapping), { "203.0.113.8": "172.17.2.10", "203.0.113.9": "172.17.2.11" });
        assert.throws(
            () => new EdgeVirtualRouter("too-many", seedArgs({ publicNetwork: { id: 3, addresses: reserved }, publicIps: 3 })),
            /^ConfigError: publicIps: must be an integer from 0 to 2: the public network has 3 addresses/,
        );
    });

    it("applies the appliance's and the router's transforms", async function () {
        const program = await runProgram(
            () =>
                new EdgeVirtualRouter(
                    "router",
                    seedArgs({
                        transform: {
                            appliance: { imageName: "vr-image" },
                            router: (routerArgs, _opts, name) => void (routerArgs.name = `${name}-renamed`),
                        },
                    }),
                ),
            { outputs },
        );
        assert.equal(program.named("router-appliance").inputs.imageName, "vr-image");
        assert.equal(program.named("router-vrouter").inputs.name, "router-vrouter-renamed");
    });

    it("keeps the OpenNebula connection secret in every child, even when the password was given in plain text", async function () {
        const program = await runProgram(
            () =>
                new EdgeVirtualRouter(
                    "router",
                    seedArgs({
                        connection: { endpoint: "http://10.0.1.87:2633/RPC2", username: "oneadmin", password: "plain-text-password" },
                    }),
                ),
            { outputs },
        );
        for (const child of ["router-appliance", "router-vrouter"]) {
            const resource = program.named(child);
            assert.ok(resource.secretInputs.includes("connection"), `${child}: connection is secret`);
            assert.equal(unwrapSecrets(resource.inputs.connection).password, "plain-text-password");
        }
    });

    const bad: [string, (a: EdgeVirtualRouterArgs) => void, RegExp][] = [
        [
            "more SDNAT addresses than the pool holds",
            (a) => (a.publicIps = 5),
            /^publicIps: must be an integer from 0 to 4: the public network has 5 addresses and the router takes one \(got 5\)/,
        ],
        ["a negative number of SDNAT addresses", (a) => (a.publicIps = -1), /^publicIps: must be an integer from 0 to 4/],
        [
            "an empty public pool",
            (a) => (a.publicNetwork.addresses = []),
            /^publicNetwork\.addresses: must list the public network's addresses, at least one/,
        ],
        [
            "a bad public address",
            (a) => (a.publicNetwork.addresses[2] = "10.0.1"),
            /^publicNetwork\.addresses\[2\]: must be an IPv4 address/,
        ],
        [
            "a public address twice",
            (a) => (a.publicNetwork.addresses[3] = "10.0.1.16"),
            /^publicNetwork\.addresses\[3\]: duplicate address "10\.0\.1\.16" \(already used by publicNetwork\.addresses\[0\]\)/,
        ],
        [
            "a router address outside the pool",
            (a) => (a.routerPublicIp = "10.0.1.99"),
            /^routerPublicIp: 10\.0\.1\.99 is not one of publicNetwork\.addresses/,
        ],
        [
            "a bad public network ID",
            (a) => (a.publicNetwork.id = -2),
            /^publicNetwork\.id: must be an integer from 0 to 2147483647 \(got -2\)/,
        ],
        ["no private network", (a) => delete (a as Partial<EdgeVirtualRouterArgs>).privateNetwork, /^privateNetwork: is required/],
        [
            "a gateway outside the subnet",
            (a) => (a.privateNetwork.gateway = "172.18.0.1"),
            /^privateNetwork\.gateway: 172\.18\.0\.1 is not in privateNetwork\.subnet 172\.17\.2\.0\/24/,
        ],
        ["a bad subnet", (a) => (a.privateNetwork.subnet = "172.17.2.0"), /^privateNetwork\.subnet: must be an IPv4 CIDR/],
        [
            "more mappings than SDNAT addresses",
            (a) => {
                a.publicIps = 1;
                a.mappings = [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.11" }];
            },
            /^mappings: has 2 entries but SDNAT may map only 1 public address \(publicIps\)/,
        ],
        [
            "a mapping to the router's address",
            (a) => (a.mappings = [{ privateIp: "172.17.2.1" }]),
            /^mappings\[0\]\.privateIp: 172\.17\.2\.1 is the router's own private address/,
        ],
        [
            "a mapping outside the private subnet",
            (a) => (a.mappings = [{ privateIp: "10.9.9.9" }]),
            /^mappings\[0\]\.privateIp: 10\.9\.9\.9 is not in privateNetwork\.subnet/,
        ],
        [
            "a mapping to the router's public address",
            (a) => (a.mappings = [{ privateIp: "172.17.2.10", publicIp: "10.0.1.16" }]),
            /^mappings\[0\]\.publicIp: 10\.0\.1\.16 is not one of the SDNAT addresses/,
        ],
        [
            "a public address mapped twice",
            (a) =>
                (a.mappings = [
                    { privateIp: "172.17.2.10", publicIp: "10.0.1.18" },
                    { privateIp: "172.17.2.11", publicIp: "10.0.1.18" },
                ]),
            /^mappings\[1\]\.publicIp: duplicate public address "10\.0\.1\.18" \(already used by mappings\[0\]\.publicIp\)/,
        ],
        [
            "a private VM mapped twice",
            (a) => (a.mappings = [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.10" }]),
            /^mappings\[1\]\.privateIp: duplicate private address "172\.17\.2\.10" \(already used by mappings\[0\]\.privateIp\)/,
        ],
        ["no appliance", (a) => delete (a as Partial<EdgeVirtualRouterArgs>).appliance, /^appliance: is required: \{ datastoreId \}/],
        [
            "an appliance without datastore",
            (a) => (a.appliance = { appName: "Service Virtual Router" }),
            /^appliance\.datastoreId: is required to export the appliance/,
        ],
        [
            "a template and an export",
            (a) => (a.appliance = { templateId: 3, datastoreId: 1 }),
            /^appliance: give either templateId .* or the export's datastoreId, not both/,
        ],
        ["a bad image name", (a) => (a.appliance = { datastoreId: 1, imageName: "vr/1" }), /^appliance\.imageName: must not contain "\/"/],
        ["a bad router name", (a) => (a.routerName = "vr:1"), /^routerName: must not contain ":"/],
        [
            "a context key the component owns",
            (a) => (a.context = { ONEAPP_VNF_SDNAT4_INTERFACES: "eth0" }),
            /^context\.ONEAPP_VNF_SDNAT4_INTERFACES: is set by the component/,
        ],
        [
            "NAT4 keys in the context",
            (a) => (a.context = { ONEAPP_VNF_NAT4_ENABLED: "YES" }),
            /^context\.ONEAPP_VNF_NAT4_ENABLED: is set by the component .*use outboundNat/,
        ],
        ["a bad context key", (a) => (a.context = { "ONEAPP-X": "1" }), /^context\.ONEAPP-X: is not a context variable name/],
    ];
    for (const [label, mutate, message] of bad) {
        it(`rejects ${label} before registering anything`, async function () {
            let error: Error | undefined;
            const program = await runProgram(() => {
                const args = seedArgs();
                mutate(args);
                try {
                    new EdgeVirtualRouter("router", args);
                } catch (err) {
                    error = err as Error;
                }
            });
            assert.match(error?.message ?? "no error", message);
            assert.equal(error?.name, "ConfigError");
            assert.deepEqual(
                program.resources.map((r) => r.name),
                [],
                "nothing registered",
            );
        });
    }
});
