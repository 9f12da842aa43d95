/** EvpnPrivateNetwork under mocks: the VirtualNetwork inputs for one and several front-ends. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { EvpnPrivateNetworkArgs } from "../../components/overlay/evpn-private-network";
import { EVPN_PRIVATE_NETWORK_TYPE, EvpnPrivateNetwork } from "../../components/overlay/evpn-private-network";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { runProgram } from "../support/pulumi-mocks";
import { unwrapSecrets } from "./overlay-fixtures";

const VIRTUAL_NETWORK = "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork";

/** The template the seed asks for, with an explicit VNI and the MTU chain of a 1500-byte underlay. */
const SEED_TEMPLATE = {
    VXLAN_MODE: "evpn",
    VXLAN_TEP: "local_ip",
    IP_LINK_CONF: "nolearning=",
    PHYDEV: "wg0",
    VLAN_ID: "100",
    MTU: "1370",
    GUEST_MTU: "1370",
    NETWORK_ADDRESS: "172.17.2.0",
    NETWORK_MASK: "255.255.255.0",
    GATEWAY: "172.17.2.1",
    DNS: "1.1.1.1",
};

function network(args: Partial<EvpnPrivateNetworkArgs>) {
    return runProgram(() => new EvpnPrivateNetwork("private", { vlanId: 100, targets: [{ clusterIds: [100, 101] }], ...args }));
}

describe("EvpnPrivateNetwork", function () {
    it("the seed's layout: one front-end, both edge clusters, one vxlan network in evpn mode on wg0", async function () {
        const program = await network({});
        assert.equal(program.named("private").type, EVPN_PRIVATE_NETWORK_TYPE);
        const [vnet] = program.ofType(VIRTUAL_NETWORK);
        assert.equal(program.ofType(VIRTUAL_NETWORK).length, 1);
        assert.equal(vnet.name, "private-vnet-0");
        assert.equal(vnet.parent, "private");
        assert.equal(vnet.inputs.vnMad, "vxlan");
        assert.equal(vnet.inputs.name, "private");
        assert.deepEqual(vnet.inputs.template, SEED_TEMPLATE);
        assert.deepEqual(vnet.inputs.addressRanges, [{ TYPE: "IP4", IP: "172.17.2.1", SIZE: "20" }]);
        assert.deepEqual(vnet.inputs.clusterIds, [100, 101]);
        for (const attribute of ["VN_MAD", "AR", "NAME", "AUTOMATIC_VLAN_ID"]) {
            assert.ok(!(attribute in vnet.inputs.template), `no ${attribute} in the template`);
        }
    });

    it("takes the edge clusters' IDs as outputs of their clusters and waits for them", async function () {
        const program = await runProgram(
            () => {
                const london = new Cluster("ec-london", {});
                const california = new Cluster("ec-ncalifornia", {});
                new EvpnPrivateNetwork("private", {
                    vlanId: 100,
                    networkName: "private_evpn-vxlan",
                    targets: [{ clusterIds: [london.oneId, california.oneId] }],
                });
            },
            { outputs: (args) => (args.name.startsWith("ec-") ? { oneId: args.name === "ec-london" ? 100 : 101 } : {}) },
        );
        const vnet = program.named("private-vnet-0");
        assert.deepEqual(vnet.inputs.clusterIds, [100, 101]);
        assert.deepEqual(vnet.dependsOn.sort(), ["ec-london", "ec-ncalifornia"]);
        assert.equal(vnet.inputs.name, "private_evpn-vxlan");
    });

    it("several front-ends: one network each, same VNI, MTU and gateway, disjoint address ranges", async function () {
        const password = pulumi.secret("front-end-password");
        const program = await network({
            targets: [
                { key: "ohio", connection: { endpoint: "http://10.0.1.87:2633/RPC2", password }, clusterIds: [100] },
                { key: "frankfurt", connection: { endpoint: "http://10.1.1.10:2633/RPC2", password }, clusterIds: [7, 8] },
                { key: "tokyo", clusterIds: [3], addressRange: { ip: "172.17.2.200", size: 10 } },
            ],
        });
        const ohio = program.named("private-vnet-ohio");
        const frankfurt = program.named("private-vnet-frankfurt");
        const tokyo = program.named("private-vnet-tokyo");
        assert.deepEqual(ohio.inputs.addressRanges, [{ TYPE: "IP4", IP: "172.17.2.1", SIZE: "20" }]);
        assert.deepEqual(
            frankfurt.inputs.addressRanges,
            [{ TYPE: "IP4", IP: "172.17.2.21", SIZE: "20" }],
            "the block right after the first target's",
        );
        assert.deepEqual(tokyo.inputs.addressRanges, [{ TYPE: "IP4", IP: "172.17.2.200", SIZE: "10" }]);
        for (const vnet of [ohio, frankfurt, tokyo]) {
            assert.deepEqual(vnet.inputs.template, SEED_TEMPLATE, `${vnet.name}: same template, gateway = the first target's first lease`);
        }
        assert.deepEqual(frankfurt.inputs.clusterIds, [7, 8]);
        assert.equal(unwrapSecrets(frankfurt.inputs.connection).endpoint, "http://10.1.1.10:2633/RPC2");
        assert.ok(frankfurt.secretInputs.includes("connection"), "the front-end password stays secret");
    });

    it("options: network, range, gateway, DNS, MTU chain, mesh interface and transform", async function () {
        let component: EvpnPrivateNetwork | undefined;
        const program = await runProgram(() => {
            component = new EvpnPrivateNetwork("private", {
                vlanId: 4100,
                targets: [{ clusterIds: [0] }],
                network: "10.50.0.0/20",
                addressRange: { ip: "10.50.1.10", size: 100 },
                gateway: "10.50.0.1",
                dns: ["9.9.9.9", "1.1.1.1"],
                mtu: { underlayMtu: 9001, outerIpVersion: 4 },
                mesh: { plan: { subnet: "10.200.0.0/24", topology: "mesh", mtu: 8941, listenPort: 51820, interfaceName: "wgedge" } },
                otherSubnets: ["10.0.1.0/24"],
                transform: {
                    network: (args, _opts, childName) => {
                        args.readyTimeoutSeconds = childName === "private-vnet-0" ? 60 : 1;
                    },
                },
            });
        });
        const vnet = program.named("private-vnet-0");
        assert.deepEqual(vnet.inputs.template, {
            ...SEED_TEMPLATE,
            PHYDEV: "wgedge",
            VLAN_ID: "4100",
            MTU: "8891",
            GUEST_MTU: "8891",
            NETWORK_ADDRESS: "10.50.0.0",
            NETWORK_MASK: "255.255.240.0",
            GATEWAY: "10.50.0.1",
            DNS: "9.9.9.9 1.1.1.1",
        });
        assert.deepEqual(vnet.inputs.addressRanges, [{ TYPE: "IP4", IP: "10.50.1.10", SIZE: "100" }]);
        assert.equal(vnet.inputs.readyTimeoutSeconds, 60);
        assert.equal(component!.vlanId, 4100);
        assert.equal(component!.gateway, "10.50.0.1");
        assert.equal(component!.guestMtu, 8891);
    });
});
