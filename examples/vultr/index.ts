import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import { VultrEdgeCluster } from "pulumi-opennebula-edge/clouds/vultr";

const config = new pulumi.Config();

// Two Cloud Compute hosts in Amsterdam, each with one reserved IPv4 that its VMs use directly.
const edge = new VultrEdgeCluster("ams", {
    provider: new vultr.Provider("vultr"),
    region: "ams",
    hostCount: 2,
    publicIps: 1,
    opennebula: {
        frontendSshPublicKey: config.require("oneadminPublicKey"),
        connection: { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") },
    },
});

export const hosts = edge.hosts;
export const vmPublicIps = edge.vmPublicIps;
export const publicIpHosts = edge.publicIpHosts;
export const sshPrivateKey = edge.sshPrivateKey;   // secret: pulumi stack output --show-secrets sshPrivateKey
