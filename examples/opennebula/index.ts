import * as pulumi from "@pulumi/pulumi";
import { Cluster, Datastore, Host, VirtualNetwork } from "pulumi-opennebula-edge/opennebula";

const config = new pulumi.Config("one");
const connection = {
    endpoint: config.require("endpoint"),          // http://frontend:2633/RPC2
    username: "oneadmin",
    password: config.requireSecret("password"),    // kept secret in state
};

const cluster = new Cluster("edge", { connection });
const host = new Host("kvm-1", { name: "203.0.113.10", imMad: "kvm", clusterId: cluster.oneId, connection });
new Datastore("edge-system", {
    type: "SYSTEM_DS", tmMad: "ssh", clusterIds: [cluster.oneId],
    template: { REPLICA_HOST: host.name }, connection,
});
const network = new VirtualNetwork("edge-public", {
    vnMad: "bridge", template: { BRIDGE: "br0", DNS: "1.1.1.1" },
    addressRanges: [{ TYPE: "IP4", IP: "203.0.113.20", SIZE: 4 }],
    clusterIds: [cluster.oneId], connection,
});

export const networkId = network.oneId;
