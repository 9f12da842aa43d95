import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { AwsEdgeCluster } from "pulumi-opennebula-edge/clouds/aws";
import { Cluster, MarketplaceApp, VirtualMachine } from "pulumi-opennebula-edge/opennebula";
import { EvpnFabric, EvpnPrivateNetwork, WireGuardMesh } from "pulumi-opennebula-edge/overlay";
import { EdgeVirtualRouter } from "pulumi-opennebula-edge/router";

const config = new pulumi.Config();
const connection = { endpoint: config.require("oneEndpoint"), username: "oneadmin", password: config.requireSecret("onePassword") };

// One SSH key for every machine (the hosts of both clusters and the ingress), and ONE OpenNebula
// cluster that both edge clusters join, so VMs live-migrate between London and North California.
const key = new tls.PrivateKey("ssh", { algorithm: "ED25519" });
const ssh = { publicKey: key.publicKeyOpenssh, privateKey: key.privateKeyOpenssh };
const shared = new Cluster("edge", { connection });
const common = { ssh, opennebula: { frontendSshPublicKey: config.require("oneadminPublicKey"), connection }, cluster: { existingClusterId: shared.oneId } };

const london = new AwsEdgeCluster("london", {
    ...common, provider: new aws.Provider("aws-london", { region: "eu-west-2" }), region: "eu-west-2", publicIps: 3,
});
const california = new AwsEdgeCluster("ncalifornia", {
    ...common, provider: new aws.Provider("aws-ncalifornia", { region: "us-west-1" }), region: "us-west-1", availabilityZone: "us-west-1b",
});

// WireGuard between the ingress (the route reflector, an existing machine) and every KVM host,
// FRR BGP-EVPN over it, and the EVPN network in the shared cluster: 172.17.2.0/24, MTU 1370.
const mesh = new WireGuardMesh("overlay", {
    ingress: { key: "ingress", publicIp: config.require("ingressIp"), sshUser: "root" },
    hosts: [...london.overlayNodes(), ...california.overlayNodes()],
    ssh: { privateKey: ssh.privateKey },
});
new EvpnFabric("fabric", { mesh });
const privateNetwork = new EvpnPrivateNetwork("private", {
    vlanId: 100, mesh,
    targets: [{ key: "frontend", connection, clusterIds: [shared.oneId] }],
});

// The virtual router: eth0 on London's first Elastic IP, eth1 on the EVPN network's first lease;
// SDNAT maps London's next Elastic IP to the VM at 172.17.2.10.
const router = new EdgeVirtualRouter("router", {
    publicNetwork: { id: london.publicNetworkId.apply((id) => id!), addresses: london.publicIpLeases.map((lease) => lease.address) },
    privateNetwork: { id: privateNetwork.networks.frontend.oneId, gateway: privateNetwork.gateway, subnet: "172.17.2.0/24" },
    appliance: { datastoreId: london.datastoreIds.apply((ids) => ids.image!) },
    mappings: [{ privateIp: "172.17.2.10" }],
    connection,
});
const alpine = new MarketplaceApp("alpine", {
    appName: "Alpine Linux 3.21", imageName: "alpine", datastoreId: london.datastoreIds.apply((ids) => ids.image!), connection,
});
new VirtualMachine("web", { templateId: alpine.templateId, ...router.vmNetworking("172.17.2.10"), connection });

export const overlayAddresses = mesh.addresses;   // WireGuard address per node
export const routerIp = router.publicIp;          // the router's own public address
export const routerMapping = router.mapping;      // SDNAT: public address → private VM
