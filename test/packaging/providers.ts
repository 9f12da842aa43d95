import * as assert from "assert";
import * as childProcess from "child_process";
import * as path from "path";
import { promisify } from "util";
import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../../components/opennebula/client";
import { VnetState } from "../../components/opennebula/states";
import { childInt, parseXml } from "../../components/opennebula/xml";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { clusterMembershipProvider } from "../../components/opennebula/resources/cluster-membership";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";
import { marketplaceAppProvider } from "../../components/opennebula/resources/marketplace-app";
import { virtualMachineProvider } from "../../components/opennebula/resources/virtual-machine";
import { virtualRouterProvider } from "../../components/opennebula/resources/virtual-router";

/** Every dynamic provider of the package, its export name, and inputs that create a small object. */
export const PROVIDER_CASES: {
    label: string;
    exportName: string;
    provider: pulumi.dynamic.ResourceProvider;
    inputs: (name: string) => Record<string, unknown>;
}[] = [
    {
        label: "Cluster",
        exportName: "clusterProvider",
        provider: clusterProvider,
        inputs: (name) => ({ name, template: { RESERVED_CPU: "0" } }),
    },
    { label: "Host", exportName: "hostProvider", provider: hostProvider, inputs: (name) => ({ name, imMad: "kvm" }) },
    {
        label: "Datastore",
        exportName: "datastoreProvider",
        provider: datastoreProvider,
        inputs: (name) => ({ name, type: "SYSTEM_DS", tmMad: "ssh" }),
    },
    {
        label: "VirtualNetwork",
        exportName: "virtualNetworkProvider",
        provider: virtualNetworkProvider,
        inputs: (name) => ({
            name,
            vnMad: "bridge",
            template: { BRIDGE: "br0" },
            addressRanges: [{ TYPE: "IP4", IP: "10.9.0.2", SIZE: 4 }],
        }),
    },
    {
        label: "VirtualNetworkTemplate",
        exportName: "vnTemplateProvider",
        provider: vnTemplateProvider,
        inputs: (name) => ({ name, vnMad: "bridge", template: { BRIDGE: "br0" } }),
    },
    {
        label: "ClusterMembership",
        exportName: "clusterMembershipProvider",
        provider: clusterMembershipProvider,
        inputs: () => ({ clusterId: 0, kind: "datastore", memberId: 1 }),
    },
    {
        label: "MarketplaceApp",
        exportName: "marketplaceAppProvider",
        provider: marketplaceAppProvider,
        inputs: (name) => ({ appName: "Alpine Linux 3.17", imageName: name, datastoreId: 1 }),
    },
];

/** What a case's `setup` made: the inputs that use it, and how to remove it again. */
export interface PreparedCase {
    inputs: (name: string) => Record<string, unknown>;
    cleanup: () => Promise<void>;
}

/**
 * Providers whose objects need others first (a VM template, a network): `setup` creates those with
 * the client and returns the inputs that use them, and a cleanup.
 */
export const PROVIDER_CASES_WITH_SETUP: {
    label: string;
    exportName: string;
    provider: pulumi.dynamic.ResourceProvider;
    setup: (client: OneClient) => Promise<PreparedCase>;
}[] = [
    {
        label: "VirtualMachine",
        exportName: "virtualMachineProvider",
        provider: virtualMachineProvider,
        setup: async (client) => {
            const templateId = Number(await client.call("one.template.allocate", 'NAME = "case-vm"\nCPU = "1"\nMEMORY = "64"'));
            return {
                inputs: (name) => ({ name, templateId }),
                cleanup: async () => void (await client.call("one.template.delete", templateId)),
            };
        },
    },
    {
        label: "VirtualRouter",
        exportName: "virtualRouterProvider",
        provider: virtualRouterProvider,
        setup: async (client) => {
            const templateId = Number(
                await client.call("one.template.allocate", 'NAME = "case-vr"\nCPU = "1"\nMEMORY = "64"\nVROUTER = "YES"'),
            );
            const networkId = await readyNetwork(
                client,
                'NAME = "case-vr-net"\nVN_MAD = "bridge"\nBRIDGE = "br0"\nAR = [ TYPE = "IP4", IP = "10.9.1.2", SIZE = "4" ]',
            );
            return {
                inputs: (name) => ({ name, templateId, nics: [{ networkId }] }),
                cleanup: async () => {
                    await client.call("one.vn.delete", networkId);
                    await until(async () => !(await exists(client, "one.vn.info", networkId)));
                    await client.call("one.template.delete", templateId);
                },
            };
        },
    },
];

async function readyNetwork(client: OneClient, template: string): Promise<number> {
    const id = Number(await client.call("one.vn.allocate", template, -1));
    await until(async () => childInt(parseXml(String(await client.call("one.vn.info", id))), "STATE") === VnetState.READY);
    return id;
}

async function exists(client: OneClient, method: string, id: number): Promise<boolean> {
    return client.call(method, id).then(
        () => true,
        () => false,
    );
}

/** Polls `condition` every 20 ms for up to 10 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
    for (const deadline = Date.now() + 10_000; !(await condition());) {
        if (Date.now() > deadline) throw new Error("condition not met within 10 s");
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

const execFile = promisify(childProcess.execFile);

/**
 * Runs a serialized provider in a new node process (cwd = projectDir), as the engine's provider host
 * does. Asynchronous on purpose: the test double answers from this process's event loop.
 */
export async function runSerializedProvider(
    providerFile: string,
    projectDir: string,
    inputs: Record<string, unknown>,
    extraEnv: Record<string, string> = {},
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
