/**
 * Helpers of the stack program tests: the example stack files as the engine would pass them to
 * the program, the secrets a user would set with `pulumi config set --secret`, and a mock cloud
 * that answers like the real ones (addresses, ids, WireGuard public keys, catalogue lookups).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { RecordedProgram, RunOptions, runProgram } from "../support/pulumi-mocks";
import { fakePublicKey } from "../components/overlay-fixtures";

/** The secrets the tests set, as `pulumi config set --secret` would. Every test checks they never leak. */
export const SECRETS = {
    onePassword: "one-Secret-Passw0rd-for-stack-tests",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc3RhY2stcHJvZ3JhbS10ZXN0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n",
} as const;

/** The repository root (where Pulumi.yaml is), from the sources or from dist/. */
export function repositoryRoot(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "package.json"))) return dir;
    }
    throw new Error(`no Pulumi.yaml above ${__dirname}`);
}

/** The `config:` map of an example stack file (`Pulumi.<stack>.yaml`), as written. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const file = path.join(repositoryRoot(), `Pulumi.${stack}.yaml`);
    const document = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    if (!document || typeof document.config !== "object") throw new Error(`${file} has no config: map`);
    return document.config;
}

/**
 * Sets the runtime configuration the way the engine passes it: every value as text (structured
 * values as JSON), with the secrets added and listed as secret keys. Call before running a program.
 */
export function setStackConfig(config: Record<string, unknown>, secrets: Record<string, string> = SECRETS): void {
    const text: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) text[key] = typeof value === "string" ? value : JSON.stringify(value);
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(secrets)) {
        text[`opennebula-edge:${key}`] = value;
        secretKeys.push(`opennebula-edge:${key}`);
    }
    pulumi.runtime.setAllConfig(text, secretKeys);
}

/** The seed's addresses for the seed's hosts; every other machine gets the next address of 203.0.113.0/24. */
const SEED_HOST_IPS: Record<string, string> = { "london-host-0": "18.134.246.200", "ncalifornia-host-0": "18.144.25.41" };

/** What the mock cloud handed out during one run, by resource name. */
export class MockCloud {
    /** Public IPv4 of each machine (instance, droplet, server). */
    readonly hostIps = new Map<string, string>();
    /** Each public IP resource's address (Elastic IP, reserved IP, flexible IP). */
    readonly publicIps = new Map<string, string>();
    /** OpenNebula ID of each dynamic resource (from 100, in registration order). */
    readonly oneIds = new Map<string, number>();
    private nextHost = 10;
    private nextPublic = 10;

    /** Options of runProgram that make the mocks answer like the clouds. */
    readonly options: RunOptions = {
        outputs: (args) => this.outputs(args),
        call: (args) => this.call(args),
    };

    private hostIp(name: string): string {
        if (!this.hostIps.has(name)) this.hostIps.set(name, SEED_HOST_IPS[name] ?? `203.0.113.${this.nextHost++}`);
        return this.hostIps.get(name)!;
    }

    /** Even addresses only: two public IPs that are /31 peers would be refused (Vultr routes each as a /31). */
    private publicIp(name: string): string {
        if (!this.publicIps.has(name)) this.publicIps.set(name, `198.51.100.${(this.nextPublic += 2)}`);
        return this.publicIps.get(name)!;
    }

    private outputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
        if (args.type.startsWith("pulumi-nodejs:dynamic/")) {
            if (!this.oneIds.has(args.name)) this.oneIds.set(args.name, 100 + this.oneIds.size);
            const oneId = this.oneIds.get(args.name)!;
            // An exported marketplace app also has an image and a VM template.
            return args.type.endsWith(":MarketplaceApp") ? { oneId, imageId: oneId + 1000, templateId: oneId + 2000 } : { oneId };
        }
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
                return { ipv4Address: this.hostIp(args.name), ipv4AddressPrivate: `10.110.0.${this.hostIps.size + 1}` };
            case "digitalocean:index/sshKey:SshKey":
                return { fingerprint: `fp-${args.name}` };
            case "vultr:index/instance:Instance":
                return { mainIp: this.hostIp(args.name), internalIp: `10.10.0.${this.hostIps.size + 2}` };
            case "vultr:index/bareMetalServer:BareMetalServer":
                return { mainIp: this.hostIp(args.name) };
            case "vultr:index/reservedIp:ReservedIp":
                return { subnet: this.publicIp(args.name), subnetSize: 32 };
            case "scaleway:elasticmetal/server:Server":
                return {
                    ipv4s: [{ address: this.hostIp(args.name), version: "IPv4" }],
                    privateNetworks: (args.inputs.privateNetworks ?? []).map((pn: Record<string, unknown>) => ({ ...pn, vlan: 100 })),
                };
            case "scaleway:elasticmetal/ip:Ip":
                return { ipAddress: `${this.publicIp(args.name)}/32` };
            case "command:remote:Command":
                return commandOutput(args.name);
            default:
                return {};
        }
    }

    private call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
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
}

/** What hosts print: the WireGuard key commands their public key, the Scaleway VLAN script its uplink. */
function commandOutput(name: string): Record<string, unknown> {
    const key = /^overlay-key-(.+)$/.exec(name);
    if (key) return { stdout: `${fakePublicKey(key[1])}\n`, stderr: "" };
    if (name.endsWith("-private-vlan")) return { stdout: "scaleway-private-vlan.sh: created scwpn0\nUPLINK=enp5s0\n", stderr: "" };
    return {};
}

/** Runs `program` with the stack configuration set and the mock cloud answering. */
export async function runWithConfig(
    config: Record<string, unknown>,
    program: () => unknown,
    secrets: Record<string, string> = SECRETS,
): Promise<{ program: RecordedProgram; cloud: MockCloud }> {
    setStackConfig(config, secrets);
    const cloud = new MockCloud();
    try {
        return { program: await runProgram(program, cloud.options), cloud };
    } finally {
        pulumi.runtime.setAllConfig({}, []);
    }
}

/** The value of an Output once the program ran. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** A deep copy of a stack file's config, to change in a test. */
export function copyOf<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}
