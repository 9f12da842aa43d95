/** Shared inputs and helpers of the overlay component tests (the seed's scenario). */
import * as pulumi from "@pulumi/pulumi";
import type { RemoteNode } from "../../components/remote/ssh";
import { mockWireGuardPublicKey } from "../../components/testing";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { diffPrograms, runProgram } from "../support/pulumi-mocks";
import { decodeStdin } from "../support/stdin";

export { decodeStdin };

/** Type token of `remote.Command` under mocks. */
export const COMMAND = "command:remote:Command";

/** A test-only SSH private key; every test checks it never leaks. */
export const SSH_KEY = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAAtest0nly0ssh0key0material0that0must0stay0secret",
    "-----END OPENSSH PRIVATE KEY-----",
    "",
].join("\n");

/** The seed's ingress (Ohio) and its two KVM hosts (London, North California). */
export function seedNodes(sshUser = "root"): { ingress: RemoteNode; hosts: RemoteNode[] } {
    return {
        ingress: { key: "ingress", publicIp: "13.58.199.98", sshUser },
        hosts: [
            { key: "kvm-london", publicIp: "18.134.246.200", sshUser },
            { key: "kvm-ncalifornia", publicIp: "18.144.25.41", sshUser },
        ],
    };
}

/** A fourth node, for the add/remove comparisons. */
export const FOURTH_HOST: RemoteNode = { key: "kvm-frankfurt", publicIp: "3.120.5.9", sshUser: "root" };

/** A deterministic, well-formed WireGuard public key for a node (base64 of 32 bytes): what the package's test mocks print. */
export const fakePublicKey = mockWireGuardPublicKey;

/** Mock outputs: the key commands print the node's public key, as wireguard-up.sh with WG_KEY_ONLY=1 does. */
export function hostOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const key = /-key-(.+)$/.exec(args.name);
    return args.type === COMMAND && key ? { stdout: `${fakePublicKey(key[1])}\n`, stderr: "" } : {};
}

/** Runs a program with the key commands answering like real hosts. */
export function runOverlay(program: () => unknown, preview = false): Promise<RecordedProgram> {
    return runProgram(program, { outputs: hostOutputs, preview });
}

/** The decoded environment of a recorded command. */
export function environmentOf(resource: RecordedResource): Record<string, string> {
    return decodeStdin(resource.inputs.stdin).environment;
}

/** Pulumi's marker of a secret value in serialized inputs. */
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** A serialized value with every secret wrapper removed. */
export function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        if (value[pulumi.runtime.specialSigKey] === SECRET_SIGNATURE) return unwrapSecrets(value.value);
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unwrapSecrets(item)]));
    }
    return value;
}

/** The SSH connection of a recorded command, unwrapped. */
export function connectionOf(resource: RecordedResource): Record<string, any> {
    return unwrapSecrets(resource.inputs.connection);
}

/** The names of the key commands a command depends on directly, sorted. */
export function keyDependencies(program: RecordedProgram, name: string): string[] {
    return program
        .named(name)
        .dependsOn.filter((dependency) => /-key-/.test(dependency))
        .sort();
}

/** Resolves an Output's value (after the program ran). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Which commands of `after` are new, changed or unchanged compared with `before`, and which are gone, by the inputs that decide whether they run again. */
export function compareCommands(before: RecordedProgram, after: RecordedProgram) {
    return diffPrograms(
        before,
        after,
        (resource) => resource.type === COMMAND,
        (command) =>
            JSON.stringify({
                create: command.inputs.create,
                stdin: command.inputs.stdin,
                connection: command.inputs.connection,
            }),
    );
}
