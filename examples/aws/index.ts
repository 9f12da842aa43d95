import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsEdgeCluster } from "pulumi-opennebula-edge/clouds/aws";

const config = new pulumi.Config();

// Two metal hosts in London; kvm-a owns two Elastic IPs for VMs. No SSH key is given, so the
// component generates one (ED25519) and keeps its private key secret.
const edge = new AwsEdgeCluster("london", {
    provider: new aws.Provider("aws-london", { region: "eu-west-2" }),
    region: "eu-west-2",
    hosts: { "kvm-a": { publicIps: 2 }, "kvm-b": {} },
    opennebula: {
        frontendSshPublicKey: config.require("oneadminPublicKey"),
        connection: { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") },
    },
});

export const clusterId = edge.clusterId;
export const hosts = edge.hosts;                   // { "kvm-a": { publicIp, privateIp, sshUser, machineId }, … }
export const publicIpHosts = edge.publicIpHosts;   // Elastic IP → the host a VM using it must run on
export const sshPrivateKey = edge.sshPrivateKey;   // secret: pulumi stack output --show-secrets sshPrivateKey
