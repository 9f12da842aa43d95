/**
 * An OpenNebula edge cluster on AWS, what oneprovision's `aws` provision built (reference §7.4):
 * a /16 VPC with one subnet, an internet gateway and its default route, a security group, an EC2
 * key pair and metal (or virtual) Ubuntu 22.04 instances at fixed private addresses — plus
 * Elastic IPs for the VMs, which oneprovision's IPAM and `elastic` drivers handled and which this
 * component handles by itself:
 *
 * - Elastic IP *i* is pinned to host *i mod hostCount* and associated with a **secondary private
 *   IP** of that host's primary network interface, `x.y.1.(16 + 2i)` of the VPC (far from the
 *   hosts' `x.y.0.4`, `x.y.0.5` …, reference §10.5). AWS translates EIP ↔ secondary IP (1:1 NAT).
 * - A VM on the host takes that secondary IP with a /31 mask and the other half of the /31 as its
 *   gateway (`x.y.1.(17 + 2i)`); the host routes the address to the bridge and answers ARP for the
 *   gateway (`public-forwarding.sh`, model `nat`, `NAT_BY=cloud`).
 * - The OpenNebula public network has one address range per EIP carrying the private address,
 *   with `EXTERNAL_IP=<EIP>` and `EDGE_HOST=<host name>`: a VM taking that lease must run on that
 *   host (e.g. `SCHED_REQUIREMENTS="NAME=\"<EDGE_HOST>\""`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { EdgeCluster } from "../edge/edge-cluster";
import { HYPERVISORS, Hypervisor, NatForwardingArgs } from "../edge/host-scripts";
import type { EdgeHost } from "../edge/types";
import {
    CloudEdgeClusterArgs, EdgeConfigError, addToIpv4, hostKeys, isPlain, requireIntegerIn, requireIpv4Cidr, requireOneOf,
    validateCommonArgs,
} from "./common";

/** Type token of {@link AwsEdgeCluster}. */
export const AWS_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:AwsEdgeCluster";

/** AWS commercial regions an edge cluster can be built in (opt-in regions must be enabled in the account). */
export const AWS_REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "ca-west-1", "mx-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "il-central-1", "me-south-1", "me-central-1", "af-south-1",
    "ap-south-1", "ap-south-2", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
] as const;

/** Most Elastic IPs one cluster may ask for: the default quota is 5 per region and account. */
export const AWS_MAX_PUBLIC_IPS = 5;

/** Canonical's AWS account, owner of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";

/** Name pattern of the Ubuntu 22.04 amd64 server images (`hvm-ssd` and the newer `hvm-ssd-gp3`). */
export const UBUNTU_JAMMY_AMI_NAME = "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*";

/** Security group modes: `open` allows everything (as oneprovision did); `restricted` only what an edge host needs. */
export const AWS_SECURITY_GROUP_MODES = ["open", "restricted"] as const;
/** A mode from {@link AWS_SECURITY_GROUP_MODES}. */
export type AwsSecurityGroupMode = (typeof AWS_SECURITY_GROUP_MODES)[number];

const DEFAULT_METAL_TYPE = "c5.metal";
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal|metal-[1-9][0-9]*xl)$/;
/** Graviton families (a1, t4g, c6g, c7gn, im4gn, is4gen, x2gd …): Arm, so the default amd64 image does not boot on them. */
const ARM_FAMILY = /^(a1|[a-z]+[0-9]+g[a-z]*)$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const INTERFACE = /^[A-Za-z0-9_.@-]{1,15}$/;

/** An extra inbound rule of the restricted security group. */
export interface AwsIngressRule {
    /** Port, or first port of a range. */
    port: number;
    /** Last port of a range. Default: `port`. */
    toPort?: number;
    /** Default `"tcp"`. */
    protocol?: "tcp" | "udp";
    /** Sources. Default `["0.0.0.0/0"]`. */
    cidrs?: string[];
}

/** The cluster's security group. */
export interface AwsSecurityGroupArgs {
    /**
     * `open`: all traffic in and out, as oneprovision's `allow_all` group. `restricted`: SSH (from
     * `sshSourceCidrs`), WireGuard 51820/udp and ICMP from anywhere; BGP 179/tcp, VXLAN 8472/udp,
     * libvirt 16509 and 16514/tcp and live migration 49152-49215/tcp from inside the VPC; plus
     * `extraIngress`. A security group filters by source only, so these rules apply to the VMs on
     * the Elastic IPs as well. Default `open`.
     */
    mode?: AwsSecurityGroupMode;
    /** Restricted mode: where SSH may come from (Pulumi and the front-end). Default `["0.0.0.0/0"]`. */
    sshSourceCidrs?: string[];
    /** Restricted mode: more inbound rules, e.g. the services of VMs on the Elastic IPs. Default none. */
    extraIngress?: AwsIngressRule[];
}

/** Arguments of {@link AwsEdgeCluster}. */
export interface AwsEdgeClusterArgs extends CloudEdgeClusterArgs {
    /** The AWS provider of `region`; every AWS resource uses it. Required (the default provider is never used). */
    provider: aws.Provider;
    /**
     * EC2 instance type, amd64. `*.metal` types run KVM (default hypervisor `kvm`); other types are
     * virtual machines without hardware virtualization (default hypervisor `qemu`). Metal types are
     * not offered in every availability zone (see `availabilityZone`). Default `c5.metal`.
     */
    instanceType?: string;
    /** Image of the hosts. Default: the latest Canonical Ubuntu 22.04 amd64 image when the cluster is created (later releases do not replace hosts). */
    ami?: pulumi.Input<string>;
    /** Root volume (gp3, encrypted) in GiB, 8–16384. Default 512 on metal types, 100 on virtual ones. */
    rootVolumeSize?: number;
    /**
     * Availability zone of the subnet and the instances: the region followed by one letter. Metal
     * types are missing from some zones (oneprovision met c5.metal missing in us-east-1e); pick a
     * zone that offers `instanceType`. Default `${region}a`.
     */
    availabilityZone?: string;
    /**
     * The VPC's CIDR, exactly a /16 (oneprovision's requirement). The single subnet spans the whole
     * /16; hosts take `x.y.0.4`, `x.y.0.5` …; the Elastic IPs' private addresses are `x.y.1.16`,
     * `x.y.1.18` …, with gateways `x.y.1.17`, `x.y.1.19` …. Default `10.0.0.0/16`.
     */
    vpcCidr?: string;
    /** Number of Elastic IPs for VMs, 0–5 (the default regional quota), pinned round-robin to hosts. Default 1. */
    publicIps?: number;
    /** Security group. Default `{ mode: "open" }`. */
    securityGroup?: AwsSecurityGroupArgs;
    /** User the image lets in with the key pair (passwordless sudo). Default `ubuntu`. */
    sshUser?: string;
    /**
     * The hosts' interface towards the VPC, where the Elastic IPs' private addresses arrive. It
     * depends on the instance type; check with `ip route show default`. Default `enp125s0` on metal
     * types (c5.metal, as the seed found), `ens5` on virtual (Nitro) types.
     */
    uplinkInterface?: string;
    /** Tags added to every AWS resource. Default none. */
    tags?: Record<string, string>;
}

/** Everything the component derives from its arguments, checked. */
export interface AwsEdgeClusterPlan {
    region: string;
    availabilityZone: string;
    instanceType: string;
    /** Whether `instanceType` is a bare-metal type. */
    metal: boolean;
    hypervisor: Hypervisor;
    rootVolumeSize: number;
    sshUser: string;
    uplinkInterface: string;
    vpcCidr: string;
    securityGroupMode: AwsSecurityGroupMode;
    /** Private address of each host, in host order (`x.y.0.4` + i). */
    hostPrivateIps: string[];
    /** One entry per Elastic IP: the host it is pinned to and the secondary private IP it maps to. */
    publicIps: { hostIndex: number; privateIp: string; gateway: string }[];
    /** The private addresses of every possible Elastic IP of this VPC ({@link AWS_MAX_PUBLIC_IPS}), whether used or not. */
    publicIpPool: string[];
}

/**
 * Checks the arguments of {@link AwsEdgeCluster} and derives its addresses; throws an
 * `EdgeConfigError` naming the first bad field. Pure: creates nothing.
 */
export function planAwsEdgeCluster(args: AwsEdgeClusterArgs): AwsEdgeClusterPlan {
    const hostCount = validateCommonArgs(args, AWS_REGIONS, HYPERVISORS);
    if (!aws.Provider.isInstance(args.provider)) {
        throw new EdgeConfigError("provider", `is required: an aws.Provider for region ${args.region} (the default provider is never used)`);
    }
    const instanceType = checkInstanceType(args.instanceType ?? DEFAULT_METAL_TYPE, args.ami === undefined);
    const metal = instanceType.split(".")[1].startsWith("metal");
    const hypervisor = args.hypervisor ?? (metal ? "kvm" : "qemu");
    if (hypervisor === "kvm" && !metal) {
        throw new EdgeConfigError("hypervisor", `kvm needs a metal instance type (*.metal); ${instanceType} has no hardware virtualization — use qemu or lxc`);
    }
    if (args.ami !== undefined && isPlain(args.ami) && !AMI_ID.test(args.ami as string)) {
        throw new EdgeConfigError("ami", `must be an AMI id such as ami-0123456789abcdef0 (got ${JSON.stringify(args.ami)})`);
    }
    const rootVolumeSize = requireIntegerIn("rootVolumeSize", args.rootVolumeSize ?? (metal ? 512 : 100), 8, 16384);
    const availabilityZone = args.availabilityZone ?? `${args.region}a`;
    if (typeof availabilityZone !== "string" || !new RegExp(`^${args.region}[a-z]$`).test(availabilityZone)) {
        throw new EdgeConfigError("availabilityZone", `must be a zone of ${args.region}: the region followed by one letter, e.g. ${args.region}b (got ${JSON.stringify(availabilityZone)})`);
    }
    const sshUser = args.sshUser ?? "ubuntu";
    if (typeof sshUser !== "string" || !LINUX_USER.test(sshUser)) {
        throw new EdgeConfigError("sshUser", `must be a Linux user name (lower-case letters, digits, '_', '-') (got ${JSON.stringify(sshUser)})`);
    }
    const uplinkInterface = args.uplinkInterface ?? (metal ? "enp125s0" : "ens5");
    if (typeof uplinkInterface !== "string" || !INTERFACE.test(uplinkInterface) || uplinkInterface === "br0") {
        throw new EdgeConfigError("uplinkInterface", `must be an interface name of 1 to 15 letters, digits, "_", ".", "@", "-", other than the VMs' bridge br0 (got ${JSON.stringify(uplinkInterface)})`);
    }
    const vpcCidr = requireIpv4Cidr("vpcCidr", args.vpcCidr ?? "10.0.0.0/16", 16, 16);
    const publicIpCount = checkPublicIpCount(args.publicIps);
    const securityGroupMode = checkSecurityGroup(args.securityGroup);
    checkTags(args.tags);

    const base = vpcCidr.split("/")[0];
    const publicIpPool = Array.from({ length: AWS_MAX_PUBLIC_IPS }, (_, i) => addToIpv4(base, 256 + 16 + 2 * i));
    return {
        region: args.region, availabilityZone, instanceType, metal, hypervisor, rootVolumeSize, sshUser, uplinkInterface,
        vpcCidr, securityGroupMode,
        hostPrivateIps: Array.from({ length: hostCount }, (_, i) => addToIpv4(base, 4 + i)),
        publicIps: publicIpPool.slice(0, publicIpCount).map((privateIp, i) => ({
            hostIndex: i % hostCount,
            privateIp,
            gateway: addToIpv4(privateIp, 1),
        })),
        publicIpPool,
    };
}

function checkInstanceType(instanceType: unknown, defaultImage: boolean): string {
    if (typeof instanceType !== "string" || !INSTANCE_TYPE.test(instanceType)) {
        throw new EdgeConfigError("instanceType", `must be an EC2 instance type FAMILY.SIZE such as c5.metal, m5.metal or t3.large (got ${JSON.stringify(instanceType)})`);
    }
    const family = instanceType.split(".")[0];
    if (family.startsWith("mac")) {
        throw new EdgeConfigError("instanceType", `${instanceType} is a Mac instance, which runs only macOS; use an amd64 Linux type such as c5.metal`);
    }
    if (defaultImage && ARM_FAMILY.test(family)) {
        throw new EdgeConfigError("instanceType", `${instanceType} is an Arm (Graviton) type and the default image is Ubuntu amd64; use an amd64 type such as c5.metal or t3.large, or give an arm64 ami`);
    }
    return instanceType;
}

function checkPublicIpCount(value: unknown): number {
    const count = value ?? 1;
    if (Number.isInteger(count) && (count as number) > AWS_MAX_PUBLIC_IPS) {
        throw new EdgeConfigError("publicIps", `must be at most ${AWS_MAX_PUBLIC_IPS}: the default Elastic IP quota is ${AWS_MAX_PUBLIC_IPS} per region and account, shared by every cluster there (got ${count})`);
    }
    return requireIntegerIn("publicIps", count, 0, AWS_MAX_PUBLIC_IPS);
}

function checkSecurityGroup(group: AwsSecurityGroupArgs | undefined): AwsSecurityGroupMode {
    const mode = group?.mode ?? "open";
    requireOneOf("securityGroup.mode", mode, AWS_SECURITY_GROUP_MODES);
    if (mode === "open" && (group?.sshSourceCidrs !== undefined || group?.extraIngress !== undefined)) {
        throw new EdgeConfigError("securityGroup", "sshSourceCidrs and extraIngress apply to mode restricted only (mode open allows everything)");
    }
    (group?.sshSourceCidrs ?? []).forEach((cidr, i) => requireIpv4Cidr(`securityGroup.sshSourceCidrs[${i}]`, cidr, 0, 32));
    (group?.extraIngress ?? []).forEach((rule, i) => {
        const field = `securityGroup.extraIngress[${i}]`;
        const first = requireIntegerIn(`${field}.port`, rule?.port, 1, 65535);
        requireIntegerIn(`${field}.toPort`, rule.toPort ?? first, first, 65535);
        requireOneOf(`${field}.protocol`, rule.protocol ?? "tcp", ["tcp", "udp"]);
        (rule.cidrs ?? []).forEach((cidr, j) => requireIpv4Cidr(`${field}.cidrs[${j}]`, cidr, 0, 32));
    });
    return mode;
}

function checkTags(tags: Record<string, string> | undefined): void {
    for (const [key, value] of Object.entries(tags ?? {})) {
        if (key.length === 0 || key.length > 128 || key.toLowerCase().startsWith("aws:") || typeof value !== "string" || value.length > 256) {
            throw new EdgeConfigError(`tags.${key}`, "must be a key of 1-128 characters not starting with aws: and a string value of at most 256 characters");
        }
    }
}

/** One rule of {@link awsSecurityGroupRules}: the shape of `aws.ec2.SecurityGroup` ingress/egress entries. */
export interface AwsSecurityRule {
    protocol: string;
    fromPort: number;
    toPort: number;
    cidrBlocks: string[];
    description: string;
}

/** The security group's inbound and outbound rules for a mode (see {@link AwsSecurityGroupArgs}). */
export function awsSecurityGroupRules(vpcCidr: string, group: AwsSecurityGroupArgs = {}): { ingress: AwsSecurityRule[]; egress: AwsSecurityRule[] } {
    const anywhere = ["0.0.0.0/0"];
    const egress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: anywhere, description: "all outbound traffic" }];
    if ((group.mode ?? "open") === "open") {
        return { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: anywhere, description: "all inbound traffic (oneprovision's allow_all)" }], egress };
    }
    const vpc = [vpcCidr];
    const ingress: AwsSecurityRule[] = [
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: group.sshSourceCidrs ?? anywhere, description: "SSH" },
        { protocol: "udp", fromPort: 51820, toPort: 51820, cidrBlocks: anywhere, description: "WireGuard" },
        { protocol: "icmp", fromPort: -1, toPort: -1, cidrBlocks: anywhere, description: "ICMP (path MTU discovery)" },
        { protocol: "tcp", fromPort: 179, toPort: 179, cidrBlocks: vpc, description: "BGP inside the VPC" },
        { protocol: "udp", fromPort: 8472, toPort: 8472, cidrBlocks: vpc, description: "VXLAN inside the VPC" },
        { protocol: "tcp", fromPort: 16509, toPort: 16509, cidrBlocks: vpc, description: "libvirt inside the VPC" },
        { protocol: "tcp", fromPort: 16514, toPort: 16514, cidrBlocks: vpc, description: "libvirt TLS inside the VPC" },
        { protocol: "tcp", fromPort: 49152, toPort: 49215, cidrBlocks: vpc, description: "QEMU live migration inside the VPC" },
    ];
    for (const rule of group.extraIngress ?? []) {
        ingress.push({
            protocol: rule.protocol ?? "tcp", fromPort: rule.port, toPort: rule.toPort ?? rule.port,
            cidrBlocks: rule.cidrs ?? anywhere, description: "extra ingress",
        });
    }
    return { ingress, egress };
}

/**
 * The hosts' cloud-init user data (cloud-config written as JSON, which YAML accepts). The key pair
 * lets `ubuntu` in; what this adds is keeping the Elastic IPs' secondary private addresses off the
 * host: cloud-init configures every secondary IP of the instance on its interface at first boot
 * (`apply_full_imds_network_config`, default true), and a local address would swallow the packets
 * meant for the VM. So it turns that off for later network renderings, and on every boot deletes
 * whichever of the pool's addresses an interface carries. The whole pool (not only the IPs in use)
 * keeps the user data — and so the instance — unchanged when the number of Elastic IPs changes.
 */
export function awsUserData(publicIpPool: string[]): string {
    publicIpPool.forEach((ip) => {
        if (!ipaddr.IPv4.isValidFourPartDecimal(ip)) throw new Error(`publicIpPool: ${JSON.stringify(ip)} is not an IPv4 address`);
    });
    const config = {
        write_files: [{
            path: "/etc/cloud/cloud.cfg.d/99-opennebula-edge.cfg",
            permissions: "0644",
            content: "# The Elastic IPs' secondary private addresses belong to VMs on br0, not to this host.\n"
                + "datasource:\n  Ec2:\n    apply_full_imds_network_config: false\n",
        }],
        bootcmd: [["sh", "-c", releaseAddressesCommand(publicIpPool)]],
    };
    return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

/** Shell that deletes these addresses from whatever interface holds them (idempotent; addresses are validated IPv4). */
export function releaseAddressesCommand(addresses: string[]): string {
    return `for ip in ${addresses.join(" ")}; do ip -o -4 addr show to "$ip/32" | while read -r _ dev _ cidr _; do ip addr del "$cidr" dev "$dev"; done; done`;
}

/**
 * An OpenNebula edge cluster on AWS: VPC (/16), subnet, internet gateway and default route,
 * security group, key pair, EC2 instances (metal by default) and Elastic IPs associated with
 * secondary private IPs of the hosts; then the cloud-independent {@link EdgeCluster} configures
 * the hosts and registers cluster, hosts, datastores and the public network in OpenNebula.
 */
export class AwsEdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID. */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key. */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with in OpenNebula, per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores. */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the OpenNebula public network (undefined with `publicIps: 0`). */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** EC2 instance id per host key. */
    readonly instanceIds: pulumi.Output<Record<string, string>>;
    /** The Elastic IPs, in order. */
    readonly publicIps: pulumi.Output<string[]>;
    /** Elastic IP → key of the host it is pinned to. */
    readonly publicIpHosts: pulumi.Output<Record<string, string>>;
    /** Elastic IP → the secondary private IP it maps to (what the VM uses). */
    readonly publicIpPrivateIps: pulumi.Output<Record<string, string>>;
    /** The VPC's id. */
    readonly vpcId: pulumi.Output<string>;
    /** The subnet's id. */
    readonly subnetId: pulumi.Output<string>;
    /** The security group's id. */
    readonly securityGroupId: pulumi.Output<string>;

    /** The derived addresses and settings. */
    readonly plan: AwsEdgeClusterPlan;
    /** The VPC (`${name}-vpc`). */
    readonly vpc: aws.ec2.Vpc;
    /** The subnet spanning the VPC (`${name}-subnet`). */
    readonly subnet: aws.ec2.Subnet;
    /** The internet gateway (`${name}-igw`). */
    readonly internetGateway: aws.ec2.InternetGateway;
    /** 0.0.0.0/0 → the internet gateway in the VPC's main route table (`${name}-default-route`). */
    readonly defaultRoute: aws.ec2.Route;
    /** The hosts' security group (`${name}-sg`). */
    readonly securityGroup: aws.ec2.SecurityGroup;
    /** The EC2 key pair made from `ssh.publicKey` (`${name}-key`). */
    readonly keyPair: aws.ec2.KeyPair;
    /** The instances, per host key (`${name}-host-<i>`). */
    readonly instances: Record<string, aws.ec2.Instance>;
    /** The Elastic IPs, in order (`${name}-ip-<i>`). */
    readonly elasticIps: aws.ec2.Eip[];
    /** Elastic IP i → its secondary private IP on the pinned host (`${name}-ip-<i>-association`). */
    readonly elasticIpAssociations: aws.ec2.EipAssociation[];
    /** The OpenNebula side. */
    readonly edge: EdgeCluster;

    constructor(name: string, args: AwsEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planAwsEdgeCluster(args);
        super(AWS_EDGE_CLUSTER_TYPE, name, {}, opts);
        this.plan = plan;
        const cloud = { parent: this, provider: args.provider };
        // Every AWS resource carries its region in a tag taken from the provider, checked: a provider
        // of another region fails the program before anything is created.
        const region = pulumi.output(args.provider.region).apply((providerRegion) => checkProviderRegion(providerRegion, plan.region));
        const tags = (role: string) => ({ ...args.tags, Name: `${name}-${role}`, "opennebula-edge:cluster": name, "opennebula-edge:region": region });

        this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: plan.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: tags("vpc") }, cloud);
        this.subnet = new aws.ec2.Subnet(`${name}-subnet`, {
            vpcId: this.vpc.id,
            cidrBlock: plan.vpcCidr,
            availabilityZone: plan.availabilityZone,
            mapPublicIpOnLaunch: true,
            tags: tags("subnet"),
        }, cloud);
        this.internetGateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: tags("igw") }, cloud);
        this.defaultRoute = new aws.ec2.Route(`${name}-default-route`, {
            routeTableId: this.vpc.mainRouteTableId, destinationCidrBlock: "0.0.0.0/0", gatewayId: this.internetGateway.id,
        }, cloud);
        const rules = awsSecurityGroupRules(plan.vpcCidr, args.securityGroup);
        this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
            vpcId: this.vpc.id, description: `OpenNebula edge cluster ${name} (${plan.securityGroupMode})`,
            ingress: rules.ingress, egress: rules.egress, tags: tags("sg"),
        }, cloud);
        this.keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: args.ssh.publicKey, tags: tags("key") }, cloud);

        const ami = args.ami ?? latestUbuntuJammy(args.provider, this);
        const keys = hostKeys(plan.hostPrivateIps.length);
        this.instances = {};
        keys.forEach((key, i) => {
            this.instances[key] = new aws.ec2.Instance(`${name}-${key}`, {
                ami,
                instanceType: plan.instanceType,
                availabilityZone: this.subnet.availabilityZone,
                subnetId: this.subnet.id,
                vpcSecurityGroupIds: [this.securityGroup.id],
                keyName: this.keyPair.keyName,
                privateIp: plan.hostPrivateIps[i],
                secondaryPrivateIps: plan.publicIps.filter((ip) => ip.hostIndex === i).map((ip) => ip.privateIp),
                associatePublicIpAddress: true,
                rootBlockDevice: { volumeSize: plan.rootVolumeSize, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
                // Tokens required and one hop: VMs routed through the host cannot read its metadata.
                metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
                userData: awsUserData(plan.publicIpPool),
                tags: tags(key),
            }, {
                ...cloud,
                dependsOn: [this.defaultRoute],
                // A fixed private IP cannot be taken by the replacement while the old instance holds it.
                deleteBeforeReplace: true,
                // The looked-up "latest" image changes over time; it must not replace running hosts.
                ignoreChanges: args.ami === undefined ? ["ami"] : [],
            });
        });

        this.elasticIps = [];
        this.elasticIpAssociations = [];
        plan.publicIps.forEach((ip, i) => {
            const eip = new aws.ec2.Eip(`${name}-ip-${i}`, { domain: "vpc", tags: tags(`ip-${i}`) }, cloud);
            this.elasticIps.push(eip);
            this.elasticIpAssociations.push(new aws.ec2.EipAssociation(`${name}-ip-${i}-association`, {
                allocationId: eip.allocationId,
                networkInterfaceId: this.instances[keys[ip.hostIndex]].primaryNetworkInterfaceId,
                privateIpAddress: ip.privateIp,
            }, cloud));
        });

        this.edge = new EdgeCluster(`${name}-one`, {
            hosts: keys.map((key, i) => this.edgeHost(key, i)),
            ssh: args.ssh,
            opennebula: args.opennebula,
            hypervisor: plan.hypervisor,
            firewall: args.firewall,
            cluster: args.cluster ?? { name },
            publicNetwork: plan.publicIps.length === 0 ? undefined : {
                template: { DNS: args.dns ?? "1.1.1.1" },
                addressRanges: plan.publicIps.map((ip, i) => ({
                    TYPE: "IP4",
                    IP: ip.privateIp,
                    SIZE: 1,
                    NETWORK_MASK: "255.255.255.254",
                    GATEWAY: ip.gateway,
                    EXTERNAL_IP: this.elasticIps[i].publicIp,
                    EDGE_HOST: this.instances[keys[ip.hostIndex]].publicIp,
                })),
            },
            description: `AWS edge cluster in ${plan.region} (${plan.instanceType}, pulumi-opennebula-edge)`,
        }, { parent: this });

        this.clusterId = this.edge.clusterId;
        this.hostIds = this.edge.hostIds;
        this.hostAddresses = this.edge.hostAddresses;
        this.datastoreIds = this.edge.datastoreIds;
        this.publicNetworkId = this.edge.publicNetworkId;
        this.instanceIds = pulumi.all(keys.map((key) => this.instances[key].id))
            .apply((ids) => Object.fromEntries(keys.map((key, i) => [key, ids[i]])));
        this.publicIps = pulumi.all(this.elasticIps.map((eip) => eip.publicIp));
        this.publicIpHosts = this.publicIps.apply((ips) => Object.fromEntries(ips.map((ip, i) => [ip, keys[plan.publicIps[i].hostIndex]])));
        this.publicIpPrivateIps = this.publicIps.apply((ips) => Object.fromEntries(ips.map((ip, i) => [ip, plan.publicIps[i].privateIp])));
        this.vpcId = this.vpc.id;
        this.subnetId = this.subnet.id;
        this.securityGroupId = this.securityGroup.id;
        this.registerOutputs({
            clusterId: this.clusterId, hostIds: this.hostIds, hostAddresses: this.hostAddresses, datastoreIds: this.datastoreIds,
            publicNetworkId: this.publicNetworkId, instanceIds: this.instanceIds, publicIps: this.publicIps,
            publicIpHosts: this.publicIpHosts, publicIpPrivateIps: this.publicIpPrivateIps, vpcId: this.vpcId,
            subnetId: this.subnetId, securityGroupId: this.securityGroupId,
        });
    }

    /** The EdgeHost of instance `key`: configured once the instance and its Elastic IPs' associations exist. */
    private edgeHost(key: string, index: number): EdgeHost {
        const instance = this.instances[key];
        const pinned = this.plan.publicIps.map((ip, i) => ({ ...ip, i })).filter((ip) => ip.hostIndex === index);
        const forwarding: pulumi.Output<NatForwardingArgs> | undefined = pinned.length === 0 ? undefined
            : pulumi.all(pinned.map((ip) => this.elasticIps[ip.i].publicIp)).apply((publicIps) => ({
                model: "nat" as const,
                natBy: "cloud" as const,
                uplink: this.plan.uplinkInterface,
                pairs: pinned.map((ip, j) => ({ publicIp: publicIps[j], privateIp: ip.privateIp })),
            }));
        return {
            key,
            publicIp: instance.publicIp,
            privateIp: this.plan.hostPrivateIps[index],
            sshUser: this.plan.sshUser,
            cloudId: instance.id,
            dependsOn: [instance, ...pinned.map((ip) => this.elasticIpAssociations[ip.i])],
            publicForwarding: forwarding,
        };
    }
}

/**
 * The cluster's region, when the provider's region is that region (or unset, e.g. taken from
 * `AWS_REGION`); throws an `EdgeConfigError` naming `provider` otherwise, since a provider of
 * another region would build the cluster there.
 */
export function checkProviderRegion(providerRegion: string | undefined | null, region: string): string {
    if (providerRegion !== undefined && providerRegion !== null && providerRegion !== "" && providerRegion !== region) {
        throw new EdgeConfigError("provider", `is configured for region ${providerRegion}, but region is ${region}; give the provider of ${region}`);
    }
    return region;
}

/** The latest Canonical Ubuntu 22.04 amd64 image of the provider's region. */
function latestUbuntuJammy(provider: aws.Provider, parent: pulumi.Resource): pulumi.Output<string> {
    return aws.ec2.getAmiOutput({
        mostRecent: true,
        owners: [CANONICAL_OWNER_ID],
        filters: [
            { name: "name", values: [UBUNTU_JAMMY_AMI_NAME] },
            { name: "virtualization-type", values: ["hvm"] },
            { name: "architecture", values: ["x86_64"] },
        ],
    }, { provider, parent }).id;
}
