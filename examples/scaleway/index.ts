import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { ScalewayEdgeCluster } from "pulumi-opennebula-edge/clouds/scaleway";

const config = new pulumi.Config();

// One Elastic Metal server in Paris on a private network, with two flexible IPs NATed to its VMs.
const edge = new ScalewayEdgeCluster("par", {
    provider: new scaleway.Provider("scaleway", { zone: "fr-par-2", region: "fr-par" }),
    zone: "fr-par-2",
    hosts: { "kvm-a": { publicIps: 2 } },
    opennebula: {
        frontendSshPublicKey: config.require("oneadminPublicKey"),
        connection: { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") },
    },
});

export const hosts = edge.hosts;
export const publicIpHosts = edge.publicIpHosts;
export const sshPrivateKey = edge.sshPrivateKey;   // secret: pulumi stack output --show-secrets sshPrivateKey
