/** EvpnFabric under mocks: reflector and client configurations, ordering after the mesh, options and node changes. */
import { strict as assert } from "assert";
import type { EvpnFabricArgs } from "../../components/overlay/evpn-fabric";
import { EVPN_FABRIC_TYPE, EvpnFabric } from "../../components/overlay/evpn-fabric";
import type { WireGuardMeshArgs } from "../../components/overlay/wireguard-mesh";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";
import {
    COMMAND,
    FOURTH_HOST,
    SSH_KEY,
    compareCommands,
    connectionOf,
    decodeStdin,
    environmentOf,
    runOverlay,
    seedNodes,
} from "./overlay-fixtures";

const NODE_KEYS = ["ingress", "kvm-london", "kvm-ncalifornia"];
const HOSTS = ["kvm-london", "kvm-ncalifornia"];

function overlay(fabric: Partial<EvpnFabricArgs> = {}, mesh: Partial<WireGuardMeshArgs> = {}) {
    return runOverlay(() => {
        const wg = new WireGuardMesh("overlay", { ...seedNodes(), ssh: { privateKey: SSH_KEY }, ...mesh });
        new EvpnFabric("fabric", { mesh: wg, ...fabric });
    });
}

describe("EvpnFabric", function () {
    describe("on the seed's mesh", function () {
        let program: Awaited<ReturnType<typeof overlay>>;

        before(async function () {
            program = await overlay();
        });

        it("registers one component and, per node, an FRR install and a config command, all its children", function () {
            assert.equal(program.named("fabric").type, EVPN_FABRIC_TYPE);
            const commands = program
                .ofType(COMMAND)
                .filter((command) => command.name.startsWith("fabric-"))
                .map((command) => command.name)
                .sort();
            assert.deepEqual(commands, NODE_KEYS.flatMap((key) => [`fabric-install-${key}`, `fabric-config-${key}`]).sort());
            for (const name of commands) assert.equal(program.named(name).parent, "fabric");
        });

        it("configures the ingress as route reflector with no VNIs of its own, the hosts as its clients", function () {
            const reflector = environmentOf(program.named("fabric-config-ingress")).FRR_BGPD_CONF;
            assert.match(reflector, /^router bgp 65000$/m);
            assert.match(reflector, /^ bgp router-id 192\.168\.0\.1$/m);
            assert.match(reflector, /^ bgp cluster-id 192\.168\.0\.1$/m);
            assert.match(reflector, /^ {2}neighbor fabric route-reflector-client$/m);
            assert.match(reflector, /^ neighbor 192\.168\.0\.2 peer-group fabric$/m);
            assert.match(reflector, /^ neighbor 192\.168\.0\.3 peer-group fabric$/m);
            assert.doesNotMatch(reflector, /advertise-all-vni/);
            assert.match(reflector, /^hostname ingress$/m);
        });

        it("configures each KVM host as a client with advertise-all-vni and the ingress's wg address as neighbour", function () {
            for (const [index, host] of HOSTS.entries()) {
                const client = environmentOf(program.named(`fabric-config-${host}`)).FRR_BGPD_CONF;
                assert.match(client, /^router bgp 65000$/m);
                assert.match(client, new RegExp(`^ bgp router-id 192\\.168\\.0\\.${index + 2}$`, "m"));
                assert.match(client, /^ neighbor 192\.168\.0\.1 peer-group fabric$/m);
                assert.match(client, /^ {2}advertise-all-vni$/m);
                assert.doesNotMatch(client, /route-reflector-client|cluster-id/);
                assert.equal(
                    (client.match(/^ neighbor \d+\.\d+\.\d+\.\d+ peer-group/gm) ?? []).length,
                    1,
                    "only the reflector as neighbour",
                );
            }
        });

        it("hands frr-apply.sh the three files and systemd mode; frr-install.sh the distribution's FRR", function () {
            for (const key of NODE_KEYS) {
                const run = decodeStdin(program.named(`fabric-config-${key}`).inputs.stdin);
                assert.deepEqual(Object.keys(run.environment).sort(), ["FRR_BGPD_CONF", "FRR_DAEMONS", "FRR_SERVICE", "FRR_ZEBRA_CONF"]);
                assert.equal(run.environment.FRR_SERVICE, "systemd");
                assert.match(run.environment.FRR_DAEMONS, /^bgpd=yes$/m);
                assert.match(run.environment.FRR_ZEBRA_CONF, new RegExp(`^hostname ${key}$`, "m"));
                assert.match(run.script, /^#!\/usr\/bin\/env bash\n# Writes the FRR files of the EVPN fabric/);
                const install = decodeStdin(program.named(`fabric-install-${key}`).inputs.stdin);
                assert.deepEqual(install.environment, { FRR_SOURCE: "distribution", FRR_CHANNEL: "frr-stable" });
                assert.match(install.script, /^#!\/usr\/bin\/env bash\n# Installs FRR/);
            }
        });

        it("applies FRR on a node only once that node's WireGuard is up, and installs FRR without waiting for the mesh", function () {
            for (const key of NODE_KEYS) {
                const config = program.named(`fabric-config-${key}`);
                assert.ok(config.dependsOn.includes(`overlay-config-${key}`), `${config.name} waits for overlay-config-${key}`);
                assert.ok(config.dependsOn.includes(`fabric-install-${key}`));
                for (const other of NODE_KEYS.filter((k) => k !== key)) {
                    assert.ok(
                        !config.dependsOn.includes(`overlay-config-${other}`),
                        `${config.name} does not wait for ${other}'s WireGuard directly`,
                    );
                }
                assert.deepEqual(program.named(`fabric-install-${key}`).dependsOn, []);
            }
        });

        it("reaches each node like the mesh does", function () {
            for (const key of NODE_KEYS) {
                assert.deepEqual(connectionOf(program.named(`fabric-config-${key}`)), connectionOf(program.named(`overlay-config-${key}`)));
                assert.equal(program.named(`fabric-config-${key}`).inputs.create, "bash -s");
            }
        });
    });

    it("options: ASN, listen range, FRR from deb.frrouting.org, direct mode, own SSH access", async function () {
        const program = await overlay({
            asn: 4200000001,
            useListenRange: true,
            install: { source: "frrouting", channel: "frr-10" },
            service: "direct",
            ssh: { privateKey: SSH_KEY, port: 2200 },
        });
        const reflector = environmentOf(program.named("fabric-config-ingress"));
        assert.match(reflector.FRR_BGPD_CONF, /^router bgp 4200000001$/m);
        assert.match(reflector.FRR_BGPD_CONF, /^ bgp listen range 192\.168\.0\.0\/24 peer-group fabric$/m);
        assert.doesNotMatch(reflector.FRR_BGPD_CONF, /neighbor 192\.168\.0\.2/);
        assert.equal(reflector.FRR_SERVICE, "direct");
        assert.deepEqual(environmentOf(program.named("fabric-install-kvm-london")), { FRR_SOURCE: "frrouting", FRR_CHANNEL: "frr-10" });
        assert.equal(connectionOf(program.named("fabric-config-kvm-london")).port, 2200);
        assert.equal(connectionOf(program.named("overlay-config-kvm-london")).port, 22);
    });

    it("install: false leaves FRR to the image; the config waits only for the mesh", async function () {
        const program = await overlay({ install: false });
        assert.equal(program.ofType(COMMAND).filter((command) => command.name.startsWith("fabric-install-")).length, 0);
        assert.deepEqual(program.named("fabric-config-kvm-london").dependsOn, ["overlay-config-kvm-london"]);
    });

    it("adding a fourth host changes the reflector's configuration only (with a listen range, not even that)", async function () {
        const hosts = [...seedNodes().hosts, FOURTH_HOST];
        const fabricCommands = (diff: string[]) => diff.filter((name) => name.startsWith("fabric-"));
        const listed = compareCommands(await overlay(), await overlay({}, { hosts }));
        assert.deepEqual(fabricCommands(listed.changed), ["fabric-config-ingress"]);
        assert.deepEqual(fabricCommands(listed.added), ["fabric-config-kvm-frankfurt", "fabric-install-kvm-frankfurt"]);
        const ranged = compareCommands(
            await overlay({ useListenRange: true }, { topology: "hub" }),
            await overlay({ useListenRange: true }, { topology: "hub", hosts }),
        );
        assert.deepEqual(fabricCommands(ranged.changed), []);
    });

    it("exposes the ASN, the reflector's address and each node's bgpd.conf", async function () {
        let fabric: EvpnFabric | undefined;
        await runOverlay(() => {
            const mesh = new WireGuardMesh("overlay", { ...seedNodes(), ssh: { privateKey: SSH_KEY }, subnet: "10.200.0.0/24" });
            fabric = new EvpnFabric("fabric", { mesh });
        });
        assert.equal(fabric!.asn, 65000);
        assert.equal(fabric!.reflectorAddress, "10.200.0.1");
        assert.deepEqual(Object.keys(fabric!.nodes), NODE_KEYS);
        assert.equal(fabric!.nodes.ingress.role, "reflector");
        assert.match(fabric!.nodes["kvm-london"].bgpdConf, /^ neighbor 10\.200\.0\.1 peer-group fabric$/m);
    });
});
