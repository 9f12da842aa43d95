import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { DigitalOceanEdgeCluster } from "pulumi-opennebula-edge/clouds/digitalocean";

const config = new pulumi.Config();

// Two droplets in Amsterdam (qemu: droplets have no nested KVM). VMs are reached on their host's
// public IP by port forwarding: lease i, port p → 9000 + 100·i + p.
const edge = new DigitalOceanEdgeCluster("ams", {
    provider: new digitalocean.Provider("digitalocean"),
    region: "ams3",
    hostCount: 2,
    cloudFirewall: { mode: "restricted" },
    opennebula: {
        frontendSshPublicKey: config.require("oneadminPublicKey"),
        connection: { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") },
    },
});

export const hostAddresses = edge.hostAddresses;
export const firstVmSsh = edge.portForward("host-0", 0, 22);   // { host: <host-0's IP>, port: 9022 }
export const sshPrivateKey = edge.sshPrivateKey;                // secret: pulumi stack output --show-secrets sshPrivateKey
