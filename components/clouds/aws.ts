/**
 * An OpenNebula edge cluster on AWS, what oneprovision's `aws` provision built (reference §7.4):
 * a /16 VPC with one subnet, an internet gateway and its default route, a security group, an EC2
 * key pair and metal (or virtual) Ubuntu 22.04 instances at fixed private addresses — plus
 * Elastic IPs for the VMs, which oneprovision's IPAM and `elastic` drivers handled and which this
 * component handles by itself:
 *
 * - every Elastic IP belongs to one host (`publicIps` per host) and is associated with a
 *   **secondary private IP** of that host's primary network interface, in the VPC's upper half
 *   `x.y.128.0/17` (far from the hosts' `x.y.0.4` …, reference §10.5). AWS translates EIP ↔
 *   secondary IP (1:1 NAT);
 * - a VM on the host takes that secondary IP with a /31 mask and the other half of the /31 as its
 *   gateway; the host routes the address to the bridge and answers ARP for the gateway
 *   (`public-forwarding.sh`, model `nat`, `NAT_BY=cloud`);
 * - the OpenNebula public network has one address range per EIP carrying the private address,
 *   with `EXTERNAL_IP=<EIP>` and `EDGE_HOST=<host name>`: a VM taking that lease must run on that
 *   host (e.g. `SCHED_REQUIREMENTS="NAME=\"<EDGE_HOST>\""`).
 *
 * Addresses follow the host's slot (see `settings.ts`): host slot s is at `x.y.0.(4 + s)` (carried
 * on into `x.y.1.0` …), and its Elastic IP j maps to `x.y.128.0 + 2·(5s + j)`. So a host's and an
 * Elastic IP's addresses depend on their own keys only, never on the other hosts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { FirewallScriptArgs, Hypervisor } from "../edge/host-scripts";
import { HYPERVISORS } from "../edge/host-scripts";
import { ConfigError, addToIpv4, ipv4Cidr } from "../validation";
import { checkedBy, cidrSchema, inputSchema, integerSchema, interfaceNameSchema, schemaOf } from "../validation/schema";
import type { CloudArgs, PublicIpLease } from "./base";
import { CloudEdgeCluster, checkCloudArgs, cloudConfigText, hostFirewallOf, parseCloudSettings, userCloudConfig } from "./base";
import { defineCloud } from "./definition";
import type { CloudFirewallArgs, CloudFirewallPlan, CloudSettings, HostSettings } from "./settings";
import {
    checkHosts,
    cloudFirewallPlan,
    cloudFirewallSchema,
    commonSettings,
    ipv4Sources,
    planHosts,
    publicIpSettings,
    restrictedRules,
    slotSchema,
} from "./settings";

/** Type token of {@link AwsEdgeCluster}. */
export const AWS_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:AwsEdgeCluster";

/** AWS commercial regions an edge cluster can be built in (opt-in regions must be enabled in the account). */
export const AWS_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "af-south-1",
    "ap-south-1",
    "ap-south-2",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
] as const;

/** Most Elastic IPs one cluster may ask for: the default quota is 5 per region and account. */
export const AWS_MAX_PUBLIC_IPS = 5;

/** Canonical's AWS account, owner of the official Ubuntu images. */
export const CANONICAL_OWNER_ID = "099720109477";

/** Name pattern of the Ubuntu 22.04 amd64 server images (`hvm-ssd` and the newer `hvm-ssd-gp3`). */
export const UBUNTU_JAMMY_AMI_NAME = "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*";

/** The user of Canonical's images (the key pair lets it in, with passwordless sudo). */
const IMAGE_USER = "ubuntu";
const DEFAULT_METAL_TYPE = "c5.metal";
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal|metal-[1-9][0-9]*xl)$/;
/** Graviton families (a1, t4g, c6g, c7gn, im4gn, is4gen, x2gd …): Arm, so the default amd64 image does not boot on them. */
const ARM_FAMILY = /^(a1|[a-z]+[0-9]+g[a-z]*)$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
/** Offsets in the VPC: host slot s at 4 + s, the VMs' /31 pairs from the upper half on. */
const HOST_OFFSET = 4;
const VM_OFFSET = 32768;

/** True for a bare-metal instance type (`*.metal`, `*.metal-24xl`). */
function isMetal(instanceType: string): boolean {
    return instanceType.split(".")[1]?.startsWith("metal") ?? false;
}

// ---------------------------------------------------------------------------------------------
// Settings: the component's plain arguments, and an edge cluster's keys in stack configuration

/** An AWS region from {@link AWS_REGIONS}. */
export type AwsRegion = (typeof AWS_REGIONS)[number];

/** The settings of an AWS edge cluster: its own arguments, and an edge cluster's keys in stack configuration. */
export interface AwsSettings extends CloudSettings {
    /** The region, from {@link AWS_REGIONS}; the provider must be of the same region. Required. */
    region: AwsRegion;
    /**
     * The hosts by key, e.g. `["kvm-a", "kvm-b"]`, or with per-host settings: `{ "kvm-a": { publicIps: 2 },
     * "kvm-b": { slot: 7 } }` — `publicIps` (0–5) overrides the cluster's, `slot` (0–3071) the slot
     * derived from the key. Default: `hostCount` hosts `host-0` ….
     */
    hosts?: string[] | Record<string, HostSettings>;
    /** Elastic IPs each host owns, 0–5 (at most 5 in all: the default regional quota). Default 0. */
    publicIps?: number;
    /** `kvm` (metal types only), `qemu` or `lxc`. Default `kvm` on metal types, `qemu` on virtual ones. */
    hypervisor?: Hypervisor;
    /**
     * EC2 instance type, amd64. `*.metal` types run KVM (default hypervisor `kvm`); other types are
     * virtual machines without hardware virtualization (default hypervisor `qemu`). Metal types are
     * not offered in every availability zone (see `availabilityZone`). Default `c5.metal`.
     */
    instanceType?: string;
    /** Image of the hosts (`ami-…`). Default: the latest Canonical Ubuntu 22.04 amd64 image when the cluster is created (later releases do not replace hosts). */
    ami?: pulumi.Input<string>;
    /** Root volume (gp3, encrypted) in GiB, 8–16384. Default 512 on metal types, 100 on virtual ones. */
    rootVolumeSize?: number;
    /**
     * Availability zone of the subnet and the instances: the region followed by a zone letter (a–f). Metal
     * types are missing from some zones (oneprovision met c5.metal missing in us-east-1e); pick a
     * zone that offers `instanceType`. Default `${region}a`.
     */
    availabilityZone?: string;
    /**
     * The VPC's CIDR, exactly a /16 (oneprovision's requirement). The single subnet spans the whole
     * /16; hosts take `x.y.0.4` + their slot; the Elastic IPs' private addresses lie in
     * `x.y.128.0/17`. Default `10.0.0.0/16`.
     */
    vpcCidr?: string;
    /**
     * The security group. A security group filters by source only, so its rules apply to the VMs
     * on the Elastic IPs as well: open the VMs' services with `extraRules`. Default `{ mode: "open" }`.
     */
    cloudFirewall?: CloudFirewallArgs;
    /**
     * The hosts' interface towards the VPC, where the Elastic IPs' private addresses arrive (not
     * `br0`). It depends on the instance type; check with `ip route show default`. Default
     * `enp125s0` on metal types (c5.metal, as the seed found), `ens5` on virtual (Nitro) types.
     */
    uplinkInterface?: string;
}

/** @internal The schema of {@link AwsSettings}, which the component and the stack program validate with. */
export const awsSettings = schemaOf<AwsSettings>()(
    z
        .object({
            region: z.enum(AWS_REGIONS),
            ...commonSettings,
            ...publicIpSettings(AWS_MAX_PUBLIC_IPS, { slot: slotSchema.optional() }),
            hypervisor: z.enum(HYPERVISORS).optional(),
            instanceType: checkedBy(z.string(), checkInstanceType).optional(),
            ami: inputSchema(z.string().regex(AMI_ID, "must be an AMI id such as ami-0123456789abcdef0")).optional(),
            rootVolumeSize: integerSchema(8, 16384).optional(),
            availabilityZone: z.string().optional(),
            vpcCidr: cidrSchema(16, 16).optional(),
            cloudFirewall: cloudFirewallSchema.optional(),
            uplinkInterface: checkedBy(interfaceNameSchema, (uplink) => {
                if (uplink === "br0") throw new ConfigError("", "must not be br0, the VMs' bridge");
            }).optional(),
        })
        .superRefine((settings, ctx) => {
            if (ctx.issues.length > 0) return; // the rules across settings need each setting valid on its own
            checkHosts(settings, ctx, {
                maxPublicIps: AWS_MAX_PUBLIC_IPS,
                quota: "the default Elastic IP quota is 5 per region and account, shared by every cluster there",
                slots: true,
            });
            const instanceType = settings.instanceType ?? DEFAULT_METAL_TYPE;
            if (settings.ami === undefined && ARM_FAMILY.test(instanceType.split(".")[0])) {
                ctx.addIssue({
                    code: "custom",
                    path: ["instanceType"],
                    message: `${instanceType} is an Arm (Graviton) type and the default image is Ubuntu amd64; use an amd64 type such as c5.metal or t3.large, or give an arm64 ami`,
                });
            }
            if (settings.hypervisor === "kvm" && !isMetal(instanceType)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["hypervisor"],
                    message: `kvm needs a metal instance type (*.metal); ${instanceType} has no hardware virtualization — use qemu or lxc`,
                });
            }
            if (settings.availabilityZone !== undefined && !new RegExp(`^${settings.region}[a-f]$`).test(settings.availabilityZone)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["availabilityZone"],
                    message: `must be a zone of ${settings.region}: the region followed by a zone letter from a to f, e.g. ${settings.region}b (got ${JSON.stringify(settings.availabilityZone)})`,
                });
            }
        }),
);

function checkInstanceType(instanceType: string): void {
    if (!INSTANCE_TYPE.test(instanceType)) {
        throw new ConfigError("", "must be an EC2 instance type FAMILY.SIZE such as c5.metal, m5.metal or t3.large");
    }
    if (instanceType.startsWith("mac")) {
        throw new ConfigError("", `${instanceType} is a Mac instance, which runs only macOS; use an amd64 Linux type such as c5.metal`);
    }
}

/**
 * The kinds of children of {@link AwsEdgeCluster} that take a `transform`, and their arguments:
 * `vpc` (`${name}-vpc`), `subnet`, `internetGateway` (`${name}-igw`), `defaultRoute`,
 * `securityGroup` (`${name}-sg`), `keyPair` (`${name}-key`), `instance` (`${name}-<host>`),
 * `elasticIp` (`${name}-<host>-ip-<j>`) and `elasticIpAssociation` (`…-association`).
 */
export interface AwsChildren {
    vpc: aws.ec2.VpcArgs;
    subnet: aws.ec2.SubnetArgs;
    internetGateway: aws.ec2.InternetGatewayArgs;
    defaultRoute: aws.ec2.RouteArgs;
    securityGroup: aws.ec2.SecurityGroupArgs;
    keyPair: aws.ec2.KeyPairArgs;
    instance: aws.ec2.InstanceArgs;
    elasticIp: aws.ec2.EipArgs;
    elasticIpAssociation: aws.ec2.EipAssociationArgs;
}

/** Arguments of {@link AwsEdgeCluster}: the settings, the provider of `region`, SSH, the front-end and the escape hatches. */
export type AwsEdgeClusterArgs = CloudArgs<AwsSettings, aws.Provider, AwsChildren>;

/** A host of an AWS edge cluster, planned: its address and its Elastic IPs' addresses. */
export interface AwsHostPlan {
    key: string;
    slot: number;
    /** The instance's private address: `x.y.0.4` + slot. */
    privateIp: string;
    /** Its Elastic IPs' secondary private addresses (what the VMs take), in order. */
    vmAddresses: string[];
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
    /** The range the VMs' addresses lie in (`x.y.128.0/17`): cloud-init's copies of them are removed from the hosts. */
    vmRange: string;
    cloudFirewall: CloudFirewallPlan;
    hosts: AwsHostPlan[];
}

/**
 * Checks the arguments of {@link AwsEdgeCluster} and derives its addresses. Pure: creates nothing.
 *
 * @throws ConfigError naming the first bad field.
 */
export function planAwsEdgeCluster(args: AwsEdgeClusterArgs): AwsEdgeClusterPlan {
    checkCloudArgs(args, "aws");
    const settings = parseCloudSettings(awsSettings, args);
    const instanceType = settings.instanceType ?? DEFAULT_METAL_TYPE;
    const metal = isMetal(instanceType);
    const vpcCidr = settings.vpcCidr ?? "10.0.0.0/16";
    const base = vpcCidr.split("/")[0];
    return {
        region: settings.region,
        availabilityZone: settings.availabilityZone ?? `${settings.region}a`,
        instanceType,
        metal,
        hypervisor: settings.hypervisor ?? (metal ? "kvm" : "qemu"),
        rootVolumeSize: settings.rootVolumeSize ?? (metal ? 512 : 100),
        sshUser: settings.sshUser ?? IMAGE_USER,
        uplinkInterface: settings.uplinkInterface ?? (metal ? "enp125s0" : "ens5"),
        vpcCidr,
        vmRange: `${addToIpv4(base, VM_OFFSET)}/17`,
        cloudFirewall: cloudFirewallPlan(settings.cloudFirewall),
        hosts: planHosts(settings).map((host) => ({
            key: host.key,
            slot: host.slot,
            privateIp: addToIpv4(base, HOST_OFFSET + host.slot),
            vmAddresses: Array.from({ length: host.publicIps }, (_, j) =>
                addToIpv4(base, VM_OFFSET + 2 * (AWS_MAX_PUBLIC_IPS * host.slot + j)),
            ),
        })),
    };
}

/** One rule of {@link awsSecurityGroupRules}: the shape of `aws.ec2.SecurityGroup` ingress/egress entries. */
export interface AwsSecurityRule {
    protocol: string;
    fromPort: number;
    toPort: number;
    cidrBlocks: string[];
    description: string;
}

/**
 * The security group's inbound and outbound rules: everything (`open`), or the hosts' allow-list
 * (`hostFirewall`, see `hostFirewallOf`; IPv4 only, the instances have no IPv6) for `restricted`.
 */
export function awsSecurityGroupRules(
    hostFirewall: FirewallScriptArgs,
    firewall: CloudFirewallPlan = cloudFirewallPlan(undefined),
): { ingress: AwsSecurityRule[]; egress: AwsSecurityRule[] } {
    const anywhere = ["0.0.0.0/0"];
    const egress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: anywhere, description: "all outbound traffic" }];
    if (firewall.mode === "open") {
        return {
            ingress: [
                {
                    protocol: "-1",
                    fromPort: 0,
                    toPort: 0,
                    cidrBlocks: anywhere,
                    description: "all inbound traffic (oneprovision's allow_all)",
                },
            ],
            egress,
        };
    }
    const ingress = restrictedRules(firewall, hostFirewall)
        .map((rule) => ({
            protocol: rule.protocol,
            fromPort: rule.fromPort ?? -1,
            toPort: rule.toPort ?? -1,
            cidrBlocks: ipv4Sources(rule),
            description: rule.description,
        }))
        .filter((rule) => rule.cidrBlocks.length > 0);
    return { ingress, egress };
}

/**
 * The hosts' cloud-init user data (cloud-config written as JSON, which YAML accepts). The key pair
 * lets `ubuntu` in (another `sshUser` is created here); what this adds is keeping the Elastic IPs'
 * secondary private addresses off the host: cloud-init configures every secondary IP of the
 * instance on its interface at first boot (`apply_full_imds_network_config`, default true), and a
 * local address would swallow the packets meant for the VM. So it turns that off for later network
 * renderings, and on every boot deletes whatever address of the VMs' range (`vmRange`) an interface
 * carries. It depends on the VPC alone, so adding Elastic IPs never changes it.
 */
export function awsUserData(vmRange: string, user: Record<string, unknown> = {}): string {
    ipv4Cidr("vmRange", vmRange);
    return cloudConfigText({
        ...user,
        write_files: [
            {
                path: "/etc/cloud/cloud.cfg.d/99-opennebula-edge.cfg",
                permissions: "0644",
                content:
                    "# The Elastic IPs' secondary private addresses belong to VMs on br0, not to this host.\n" +
                    "datasource:\n  Ec2:\n    apply_full_imds_network_config: false\n",
            },
        ],
        bootcmd: [["sh", "-c", releaseAddressesCommand(vmRange)]],
    });
}

/** Shell that deletes every address inside `range` from whatever interface holds it (idempotent; `range` is a validated CIDR). */
export function releaseAddressesCommand(range: string): string {
    return `ip -o -4 addr show to ${range} | while read -r _ dev _ cidr _; do ip addr del "$cidr" dev "$dev"; done`;
}

/**
 * An OpenNebula edge cluster on AWS: VPC (/16), subnet, internet gateway and default route,
 * security group, key pair, EC2 instances (metal by default) and the Elastic IPs each host owns,
 * associated with its secondary private IPs; then the cloud-independent {@link EdgeCluster}
 * configures the hosts and registers cluster, hosts, datastores and the public network.
 */
export class AwsEdgeCluster extends CloudEdgeCluster<AwsChildren, aws.ec2.KeyPair> {
    /** The derived addresses and settings. */
    readonly plan: AwsEdgeClusterPlan;
    /** The VPC's id. */
    readonly vpcId: pulumi.Output<string>;
    /** The subnet's id. */
    readonly subnetId: pulumi.Output<string>;
    /** The security group's id. */
    readonly securityGroupId: pulumi.Output<string>;
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
    /** The instances, per host key (`${name}-<host>`). */
    readonly instances: Record<string, aws.ec2.Instance>;
    /** The Elastic IPs of each host, per host key (`${name}-<host>-ip-<j>`). */
    readonly elasticIps: Record<string, aws.ec2.Eip[]>;
    /** Their associations with the host's secondary private IPs (`${name}-<host>-ip-<j>-association`). */
    readonly elasticIpAssociations: Record<string, aws.ec2.EipAssociation[]>;

    constructor(name: string, args: AwsEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planAwsEdgeCluster(args);
        super(AWS_EDGE_CLUSTER_TYPE, name, args, opts);
        this.plan = plan;
        // Every AWS resource carries its region in a tag taken from the provider, checked: a provider
        // of another region fails the program before anything is created.
        const region = pulumi.output(args.provider.region).apply((providerRegion) => checkProviderRegion(providerRegion, plan.region));
        const tags = (role: string) => ({
            ...args.tags,
            Name: `${name}-${role}`,
            "opennebula-edge:cluster": name,
            "opennebula-edge:region": region,
        });

        this.vpc = this.create("vpc", aws.ec2.Vpc, `${name}-vpc`, {
            cidrBlock: plan.vpcCidr,
            enableDnsSupport: true,
            enableDnsHostnames: true,
            tags: tags("vpc"),
        });
        this.subnet = this.create("subnet", aws.ec2.Subnet, `${name}-subnet`, {
            vpcId: this.vpc.id,
            cidrBlock: plan.vpcCidr,
            availabilityZone: plan.availabilityZone,
            mapPublicIpOnLaunch: true,
            tags: tags("subnet"),
        });
        this.internetGateway = this.create("internetGateway", aws.ec2.InternetGateway, `${name}-igw`, {
            vpcId: this.vpc.id,
            tags: tags("igw"),
        });
        this.defaultRoute = this.create("defaultRoute", aws.ec2.Route, `${name}-default-route`, {
            routeTableId: this.vpc.mainRouteTableId,
            destinationCidrBlock: "0.0.0.0/0",
            gatewayId: this.internetGateway.id,
        });
        const rules = awsSecurityGroupRules(hostFirewallOf(args, plan.vpcCidr), plan.cloudFirewall);
        this.securityGroup = this.create("securityGroup", aws.ec2.SecurityGroup, `${name}-sg`, {
            vpcId: this.vpc.id,
            description: `OpenNebula edge cluster ${name} (${plan.cloudFirewall.mode})`,
            ingress: rules.ingress,
            egress: rules.egress,
            tags: tags("sg"),
        });
        // The EC2 key pair (`${name}-key`) is `sshKey`.
        const keyName = this.useSshKey(
            args.sshKeyId,
            (publicKey) => this.create("keyPair", aws.ec2.KeyPair, `${name}-key`, { publicKey, tags: tags("key") }),
            (key) => key.keyName,
        );

        const ami = args.ami ?? latestUbuntuJammy(args.provider, this);
        const userData = pulumi
            .output(this.sshPublicKey)
            .apply((key) => awsUserData(plan.vmRange, userCloudConfig(plan.sshUser, IMAGE_USER, key)));
        this.instances = {};
        this.elasticIps = {};
        this.elasticIpAssociations = {};
        const leases: PublicIpLease[] = [];
        for (const host of plan.hosts) {
            const instance = this.create(
                "instance",
                aws.ec2.Instance,
                `${name}-${host.key}`,
                {
                    ami,
                    instanceType: plan.instanceType,
                    availabilityZone: this.subnet.availabilityZone,
                    subnetId: this.subnet.id,
                    vpcSecurityGroupIds: [this.securityGroup.id],
                    keyName,
                    privateIp: host.privateIp,
                    secondaryPrivateIps: host.vmAddresses,
                    associatePublicIpAddress: true,
                    rootBlockDevice: { volumeSize: plan.rootVolumeSize, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
                    // Tokens required and one hop: VMs routed through the host cannot read its metadata.
                    metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
                    userData,
                    tags: tags(host.key),
                },
                {
                    dependsOn: [this.defaultRoute],
                    // A fixed private IP cannot be taken by the replacement while the old instance holds it.
                    deleteBeforeReplace: true,
                    // The looked-up "latest" image changes over time; it must not replace running hosts.
                    ignoreChanges: args.ami === undefined ? ["ami"] : [],
                },
            );
            this.instances[host.key] = instance;
            this.elasticIps[host.key] = [];
            this.elasticIpAssociations[host.key] = [];
            host.vmAddresses.forEach((address, j) => {
                const ipName = `${name}-${host.key}-ip-${j}`;
                const eip = this.create("elasticIp", aws.ec2.Eip, ipName, { domain: "vpc", tags: tags(`${host.key}-ip-${j}`) });
                const association = this.create("elasticIpAssociation", aws.ec2.EipAssociation, `${ipName}-association`, {
                    allocationId: eip.allocationId,
                    networkInterfaceId: instance.primaryNetworkInterfaceId,
                    privateIpAddress: address,
                });
                this.elasticIps[host.key].push(eip);
                this.elasticIpAssociations[host.key].push(association);
                leases.push({ host: host.key, address, publicIp: eip.publicIp, translated: true, dependsOn: [association] });
            });
        }

        this.vpcId = this.vpc.id;
        this.subnetId = this.subnet.id;
        this.securityGroupId = this.securityGroup.id;
        this.connect({
            args,
            sshUser: plan.sshUser,
            hypervisor: plan.hypervisor,
            machines: Object.fromEntries(
                plan.hosts.map((host) => {
                    const instance = this.instances[host.key];
                    return [
                        host.key,
                        { publicIp: instance.publicIp, privateIp: host.privateIp, machineId: instance.id, dependsOn: [instance] },
                    ];
                }),
            ),
            leases,
            forwarding: { model: "nat", natBy: "cloud", uplinkOf: () => plan.uplinkInterface },
            privateRange: plan.vpcCidr,
            description: `AWS edge cluster in ${plan.region} (${plan.instanceType}, pulumi-opennebula-edge)`,
            outputs: { vpcId: this.vpcId, subnetId: this.subnetId, securityGroupId: this.securityGroupId },
        });
    }
}

/**
 * The cluster's region, when the provider's region is that region (or unset, e.g. taken from
 * `AWS_REGION`); throws a `ConfigError` naming `provider` otherwise, since a provider of
 * another region would build the cluster there.
 */
export function checkProviderRegion(providerRegion: string | undefined | null, region: string): string {
    if (providerRegion !== undefined && providerRegion !== null && providerRegion !== "" && providerRegion !== region) {
        throw new ConfigError(
            "provider",
            `is configured for region ${providerRegion}, but region is ${region}; give the provider of ${region}`,
        );
    }
    return region;
}

/** The latest Canonical Ubuntu 22.04 amd64 image of the provider's region. */
function latestUbuntuJammy(provider: aws.Provider, parent: pulumi.Resource): pulumi.Output<string> {
    return aws.ec2.getAmiOutput(
        {
            mostRecent: true,
            owners: [CANONICAL_OWNER_ID],
            filters: [
                { name: "name", values: [UBUNTU_JAMMY_AMI_NAME] },
                { name: "virtualization-type", values: ["hvm"] },
                { name: "architecture", values: ["x86_64"] },
            ],
        },
        { provider, parent },
    ).id;
}

// ---------------------------------------------------------------------------------------------
// The stack program's view

/**
 * @internal
 * AWS for the stack program: one provider per region (`aws-<region>`; credentials from `aws:profile`,
 * `aws:accessKey`/`aws:secretKey` or the usual AWS environment; the region always from the edge cluster).
 */
export const awsCloud = defineCloud({
    cloud: "aws",
    settings: awsSettings,
    routesPublicIps: true,
    privateRanges: (_name, settings) => [
        { cidr: settings.vpcCidr ?? "10.0.0.0/16", what: "the VPC (its upper half holds the Elastic IPs' private addresses)" },
    ],
    build(name, settings, context) {
        const config = context.config("aws");
        const provider = context.provider(
            `aws-${settings.region}`,
            () =>
                new aws.Provider(`aws-${settings.region}`, {
                    region: settings.region,
                    profile: config.get("profile"),
                    accessKey: config.get("accessKey"),
                    secretKey: config.getSecret("secretKey"),
                }),
        );
        return new AwsEdgeCluster(name, { ...settings, ...context.common, provider });
    },
});
