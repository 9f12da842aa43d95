import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsEdgeCluster } from "pulumi-opennebula-edge/clouds/aws";

const config = new pulumi.Config();
const opennebula = {
    frontendSshPublicKey: config.require("oneadminPublicKey"),
    connection: { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") },
};

// One explicit provider per region: London with two hosts (kvm-a owns three Elastic IPs) and North
// California with one host and one Elastic IP. Each cluster generates its own SSH key.
const london = new AwsEdgeCluster("london", {
    provider: new aws.Provider("aws-london", { region: "eu-west-2" }),
    region: "eu-west-2",
    hosts: { "kvm-a": { publicIps: 3 }, "kvm-b": {} },
    opennebula,
});
const california = new AwsEdgeCluster("ncalifornia", {
    provider: new aws.Provider("aws-ncalifornia", { region: "us-west-1" }),
    region: "us-west-1",
    availabilityZone: "us-west-1b",
    publicIps: 1,
    opennebula,
});

export const londonHosts = london.hosts;              // { "kvm-a": { publicIp, privateIp, sshUser, machineId }, … }
export const californiaHosts = california.hosts;      // { "host-0": … }
export const publicIpHosts = london.publicIpHosts;    // Elastic IP → its host
