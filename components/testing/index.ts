/**
 * Mocks for unit tests of programs that use this package. Pulumi's standard mocks echo a
 * resource's inputs back as its state, but the components need values only a cloud, a host or
 * OpenNebula assigns: a droplet's or instance's public IP, an Elastic IP, a WireGuard public key
 * printed by a host, the id OpenNebula gives an object, a generated SSH key. {@link EdgeMocks}
 * fills those in, like the real services would, so a program runs to its outputs under
 * `pulumi.runtime.setMocks`:
 *
 * ```ts
 * import { setEdgeMocks } from "pulumi-opennebula-edge/testing";
 * const mocks = await setEdgeMocks();          // before the program is imported
 * const program = await import("./index");
 * ```
 *
 * Addresses come from the documentation ranges: hosts from 203.0.113.10 on, public IPs from
 * 198.51.100.12 on (even addresses only), private addresses from 10.x; an OpenNebula id is derived
 * from the resource's name (100 to 90099), so it does not depend on the order in which Pulumi
 * happens to register resources. Nothing here talks to a cloud, a host or a front-end.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";

/** What {@link EdgeMocks} answers for resources and calls it does not know. */
export interface EdgeMocksOptions {
    /** More outputs for a resource (merged over the mocks' own), e.g. a type of your own. Default none. */
    outputs?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;
    /** Answers to provider function calls the mocks do not know. Default: the call's inputs. */
    call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;
}

/** Pulumi mocks that answer like the clouds, the hosts, OpenNebula and `@pulumi/tls`. */
export class EdgeMocks implements pulumi.runtime.Mocks {
    /** Public IPv4 of each machine (instance, droplet, server), by resource name. */
    readonly hostIps = new Map<string, string>();
    /** The address of each public IP resource (Elastic IP, reserved IP, flexible IP), by resource name. */
    readonly publicIps = new Map<string, string>();
    /** OpenNebula id of each OpenNebula object (dynamic resource), by resource name (see {@link EdgeMocks.oneIdOf}). */
    readonly oneIds = new Map<string, number>();
    /** Every resource registered, in order: type, name and the state the mocks answered. */
    readonly resources: { type: string; name: string; state: Record<string, unknown> }[] = [];
    private readonly answers: EdgeMocksOptions;
    private nextHost = 10;
    private nextPublic = 10;
    private nextPrivate = 1;
    /** Address ranges of each OpenNebula network by id, and how many of its leases VMs took. */
    private readonly networks = new Map<number, { ranges: Record<string, unknown>[]; leased: number }>();

    constructor(options: EdgeMocksOptions = {}) {
        this.answers = options;
        this.newResource = this.newResource.bind(this);
        this.call = this.call.bind(this);
    }

    /** The state of a new resource: its inputs, plus what its service would assign. */
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const state = { ...args.inputs, ...this.assigned(args), ...this.answers.outputs?.(args) };
        this.resources.push({ type: args.type, name: args.name, state });
        return { id: `${args.name}-id`, state };
    }

    /** The answer to a provider function (the latest Ubuntu AMI, a Scaleway offer and OS …). */
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const own = this.answers.call?.(args);
        if (own !== undefined) return own;
        switch (args.token) {
            case "aws:ec2/getAmi:getAmi":
                return { id: "ami-0a1b2c3d4e5f60789" };
            case "scaleway:elasticmetal/getOffer:getOffer":
                return { ...args.inputs, offerId: `offer-${args.inputs.name}` };
            case "scaleway:elasticmetal/getOs:getOs":
                return { ...args.inputs, osId: `os-${args.inputs.version}` };
            default:
                return args.inputs;
        }
    }

    /** The next host address, the same for the same resource name. */
    hostIp(name: string): string {
        if (!this.hostIps.has(name)) this.hostIps.set(name, `203.0.113.${this.nextHost++}`);
        return this.hostIps.get(name)!;
    }

    /** The next public IP, even addresses only (Vultr routes each as a /31, so two may not be peers). */
    publicIp(name: string): string {
        if (!this.publicIps.has(name)) this.publicIps.set(name, `198.51.100.${(this.nextPublic += 2)}`);
        return this.publicIps.get(name)!;
    }

    private assigned(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
        if (args.type.startsWith("pulumi-nodejs:dynamic/")) return this.openNebulaIds(args);
        switch (args.type) {
            case "aws:ec2/instance:Instance":
                return { publicIp: this.hostIp(args.name), primaryNetworkInterfaceId: `eni-${args.name}` };
            case "aws:ec2/eip:Eip":
                return { publicIp: this.publicIp(args.name), allocationId: `eipalloc-${args.name}` };
            case "aws:ec2/vpc:Vpc":
                return { mainRouteTableId: `rtb-${args.name}` };
            case "aws:ec2/keyPair:KeyPair":
                return { keyName: args.name };
            case "digitalocean:index/droplet:Droplet":
                return { ipv4Address: this.hostIp(args.name), ipv4AddressPrivate: `10.110.0.${this.nextPrivate++}` };
            case "digitalocean:index/sshKey:SshKey":
                return { fingerprint: `fp-${args.name}` };
            case "vultr:index/instance:Instance":
                return { mainIp: this.hostIp(args.name), internalIp: `10.10.0.${++this.nextPrivate}` };
            case "vultr:index/bareMetalServer:BareMetalServer":
                return { mainIp: this.hostIp(args.name) };
            case "vultr:index/reservedIp:ReservedIp":
                return { subnet: this.publicIp(args.name), subnetSize: 32 };
            case "scaleway:elasticmetal/server:Server":
                return {
                    ipv4s: [{ address: this.hostIp(args.name), version: "IPv4" }],
                    privateNetworks: (args.inputs.privateNetworks ?? []).map((network: Record<string, unknown>) => ({
                        ...network,
                        vlan: 100,
                    })),
                };
            case "scaleway:elasticmetal/ip:Ip":
                return { ipAddress: `${this.publicIp(args.name)}/32` };
            case "tls:index/privateKey:PrivateKey":
                return mockSshKeyPair(args.name);
            case "command:remote:Command":
                return commandOutput(args);
            default:
                return {};
        }
    }

    /**
     * OpenNebula ids; an exported marketplace app also has an image and a VM template; a VM runs,
     * with a NIC per requested network taking that network's next lease (and, on a port-forwarding
     * network, the lease's port ranges, as OpenNebula reports them).
     */
    private openNebulaIds(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
        const oneId = this.oneIdOf(args.name);
        if (args.type.endsWith(":VirtualNetwork")) this.networks.set(oneId, { ranges: args.inputs.addressRanges ?? [], leased: 0 });
        if (args.type.endsWith(":MarketplaceApp")) return { oneId, imageId: oneId + 1000, templateId: oneId + 2000 };
        if (args.type.endsWith(":VirtualMachine")) {
            const interfaces = (args.inputs.nics ?? []).map((nic: { networkId: number }, nicId: number) =>
                this.lease(nic.networkId, nicId),
            );
            return { oneId, state: "RUNNING", interfaces, aliases: [], ips: interfaces.map((nic: { ip: string }) => nic.ip) };
        }
        return { oneId };
    }

    /** The OpenNebula id of the object named `name`: from a hash of the name, the next free one when two names meet. */
    oneIdOf(name: string): number {
        if (!this.oneIds.has(name)) {
            const taken = new Set(this.oneIds.values());
            let id = 100 + (createHash("sha256").update(name).digest().readUInt32BE(0) % 90_000);
            while (taken.has(id)) id += 1;
            this.oneIds.set(name, id);
        }
        return this.oneIds.get(name)!;
    }

    /** The next lease of network `networkId` as a VM's NIC `nicId`. */
    private lease(networkId: number, nicId: number): Record<string, unknown> {
        const network = this.networks.get(networkId) ?? { ranges: [], leased: 0 };
        const index = network.leased++;
        const range = network.ranges[0] ?? {};
        const base = typeof range.IP === "string" ? range.IP.split(".").map(Number) : [10, 0, 0, 2];
        const ip = [...base.slice(0, 3), base[3] + index].join(".");
        const nic: Record<string, unknown> = {
            nicId,
            name: `NIC${nicId}`,
            networkId,
            ip,
            mac: `02:00:${ip
                .split(".")
                .map((part) => Number(part).toString(16).padStart(2, "0"))
                .join(":")}`,
        };
        if (range.PORT_START !== undefined) {
            const first = Number(range.PORT_START) + index * Number(range.PORT_SIZE) + 1;
            nic.externalPortRange = `${first}:${first + Number(range.PORT_SIZE) - 1}`;
            nic.internalPortRange = `1-${range.PORT_SIZE}/${first}`;
        }
        return nic;
    }
}

/** A well-formed WireGuard public key (base64 of 32 bytes), the same for the same overlay node key. */
export function mockWireGuardPublicKey(text: string): string {
    return createHash("sha256").update(`wg-public-key:${text}`).digest("base64");
}

/** A well-formed ED25519 key pair in OpenSSH form (not a usable key), the same for the same name. */
export function mockSshKeyPair(name: string): { publicKeyOpenssh: string; privateKeyOpenssh: string } {
    const seed = createHash("sha256").update(`ssh-key:${name}`).digest();
    const type = Buffer.from("ssh-ed25519");
    const length = (n: number) => Buffer.from([0, 0, 0, n]);
    const blob = Buffer.concat([length(type.length), type, length(seed.length), seed]).toString("base64");
    const body = Buffer.concat([Buffer.from("openssh-key-v1\0mock:"), seed]).toString("base64");
    return {
        publicKeyOpenssh: `ssh-ed25519 ${blob}\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`,
    };
}

/** What hosts print: a WireGuard key command its public key, the Scaleway VLAN script its uplink. */
function commandOutput(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const stdin = String(args.inputs.stdin ?? "");
    // wireguard-up.sh with WG_KEY_ONLY=1 ("MQ==" is base64 of "1") prints only the public key.
    if (/^WG_KEY_ONLY=MQ==$/m.test(stdin))
        return { stdout: `${mockWireGuardPublicKey(/-key-(.+)$/.exec(args.name)?.[1] ?? args.name)}\n`, stderr: "" };
    if (args.name.endsWith("-private-vlan")) return { stdout: "scaleway-private-vlan.sh: created scwpn0\nUPLINK=enp5s0\n", stderr: "" };
    return { stdout: "", stderr: "" };
}

/** Options of {@link setEdgeMocks}. */
export interface SetEdgeMocksOptions extends EdgeMocksOptions {
    /** Project name. Default `project`. */
    project?: string;
    /** Stack name. Default `stack`. */
    stack?: string;
    /** Run as a preview (values not known until deployment stay unknown). Default false. */
    preview?: boolean;
}

/** Installs {@link EdgeMocks} with `pulumi.runtime.setMocks`; call it before the program is imported. Returns the mocks, to inspect what was registered. */
export async function setEdgeMocks(options: SetEdgeMocksOptions = {}): Promise<EdgeMocks> {
    const mocks = new EdgeMocks(options);
    await pulumi.runtime.setMocks(mocks, options.project ?? "project", options.stack ?? "stack", options.preview ?? false);
    return mocks;
}
