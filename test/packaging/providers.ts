import * as assert from "assert";
import * as childProcess from "child_process";
import * as path from "path";
import { promisify } from "util";
import type * as pulumi from "@pulumi/pulumi";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { clusterMembershipProvider } from "../../components/opennebula/resources/cluster-membership";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";

/** Every dynamic provider of the package, its export name, and inputs that create a small object. */
export const PROVIDER_CASES: { label: string; exportName: string; provider: pulumi.dynamic.ResourceProvider; inputs: (name: string) => Record<string, unknown> }[] = [
    { label: "Cluster", exportName: "clusterProvider", provider: clusterProvider, inputs: (name) => ({ name, template: { RESERVED_CPU: "0" } }) },
    { label: "Host", exportName: "hostProvider", provider: hostProvider, inputs: (name) => ({ name, imMad: "kvm" }) },
    { label: "Datastore", exportName: "datastoreProvider", provider: datastoreProvider, inputs: (name) => ({ name, type: "SYSTEM_DS", tmMad: "ssh" }) },
    {
        label: "VirtualNetwork", exportName: "virtualNetworkProvider", provider: virtualNetworkProvider,
        inputs: (name) => ({ name, vnMad: "bridge", template: { BRIDGE: "br0" }, addressRanges: [{ TYPE: "IP4", IP: "10.9.0.2", SIZE: 4 }] }),
    },
    { label: "VirtualNetworkTemplate", exportName: "vnTemplateProvider", provider: vnTemplateProvider, inputs: (name) => ({ name, vnMad: "bridge", template: { BRIDGE: "br0" } }) },
    {
        label: "ClusterMembership", exportName: "clusterMembershipProvider", provider: clusterMembershipProvider,
        inputs: () => ({ clusterId: 0, kind: "datastore", memberId: 1 }),
    },
];

const execFile = promisify(childProcess.execFile);

/**
 * Runs a serialized provider in a new node process (cwd = projectDir), as the engine's provider host
 * does. Asynchronous on purpose: the test double answers from this process's event loop.
 */
export async function runSerializedProvider(
    providerFile: string, projectDir: string, inputs: Record<string, unknown>, extraEnv: Record<string, string> = {},
): Promise<any> {
    const runner = path.join(__dirname, "run-provider.js");
    const env = { ...process.env, ...extraEnv, PROVIDER_INPUTS: JSON.stringify(inputs) };
    try {
        const { stdout } = await execFile(process.execPath, [runner, providerFile, projectDir], { cwd: projectDir, env, timeout: 60_000 });
        return JSON.parse(stdout);
    } catch (err) {
        assert.fail(`the serialized provider failed:\n${(err as { stderr?: string }).stderr ?? err}`);
    }
}
