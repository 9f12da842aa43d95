import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { DigitalOceanEdgeCluster } from "pulumi-opennebula-edge/clouds/digitalocean";
import { MarketplaceApp, VirtualMachine, vmPortForward } from "pulumi-opennebula-edge/opennebula";

const config = new pulumi.Config();
const connection = { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") };

// The seed's tutorial in code: a DigitalOcean edge cluster, the Alpine app exported from the
// marketplace into its image datastore, a VM on its public (port-forwarding) network, and what
// `onevm port-forward` used to answer.
const edge = new DigitalOceanEdgeCluster("ams", {
    provider: new digitalocean.Provider("digitalocean"),
    region: "ams3",
    opennebula: { frontendSshPublicKey: config.require("oneadminPublicKey"), connection },
});
const alpine = new MarketplaceApp("alpine", {
    appName: "Alpine Linux 3.21", imageName: "alpine", datastoreId: edge.datastoreIds.apply((ids) => ids.image!), connection,
});
const vm = new VirtualMachine("alpine-test", {
    templateId: alpine.templateId,
    nics: [{ networkId: edge.publicNetworkId.apply((id) => id!) }],
    connection,
});

// { host: <host-0's public IP>, port: 9022 }: `ssh -p 9022 root@<host>` reaches the VM's port 22.
export const vmSsh = pulumi.all([vm.interfaces, edge.hostAddresses]).apply(([[nic], hosts]) =>
    vmPortForward({ hostPublicIp: hosts["host-0"], nic, internalPort: 22 }));
