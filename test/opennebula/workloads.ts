/**
 * Shared pieces of the suites for the workload resources (MarketplaceApp, VirtualMachine,
 * VirtualRouter): a double with short timings, lifecycles for every resource, and the check that
 * OpenNebula holds exactly the objects Pulumi state holds (nothing orphaned, nothing lost).
 */
import * as assert from "assert";
import { OneClient } from "../../components/opennebula/client";
import { marketplaceAppProvider } from "../../components/opennebula/resources/marketplace-app";
import { virtualMachineProvider } from "../../components/opennebula/resources/virtual-machine";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { virtualRouterProvider } from "../../components/opennebula/resources/virtual-router";
import { childText, children, parseXml } from "../../components/opennebula/xml";
import { OneDouble } from "../support/one-double";
import { Lifecycle, capPolls } from "./harness";

/** The double's timings for these suites: every asynchronous step takes a few tens of ms. */
export const WORKLOAD_TIMINGS = { vnetCreateMs: 20, vnetDeleteMs: 20, imageReadyMs: 40, imageDeleteMs: 30, vmDeployMs: 40, vmActionMs: 20 };

/** A double and a lifecycle per resource, all on the same connection. */
export interface Workloads {
    double: OneDouble;
    client: OneClient;
    app: Lifecycle;
    vm: Lifecycle;
    router: Lifecycle;
    network: Lifecycle;
    stop(): Promise<void>;
}

export async function startWorkloads(timings: Partial<typeof WORKLOAD_TIMINGS> = {}): Promise<Workloads> {
    const double = await OneDouble.start({ ...WORKLOAD_TIMINGS, ...timings });
    const restorePolls = capPolls();
    const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
    const client = new OneClient(connection, { backoffMs: 20 });
    return {
        double,
        client,
        app: new Lifecycle(marketplaceAppProvider, connection),
        vm: new Lifecycle(virtualMachineProvider, connection),
        router: new Lifecycle(virtualRouterProvider, connection),
        network: new Lifecycle(virtualNetworkProvider, connection),
        stop: async () => {
            client.close();
            restorePolls();
            await double.stop();
        },
    };
}

/** Every object the double holds that it did not start with (DONE VMs excluded), as `kind/id`. */
export function heldObjects(w: Workloads): string[] {
    return w.double
        .objects()
        .filter((o) => !o.builtin)
        .map((o) => `${o.kind}/${o.id}`)
        .sort();
}

/** The objects Pulumi state says exist: an export is an image and a VM template, a router is the router and its VMs. */
export function objectsInState(w: Workloads): string[] {
    const objects: string[] = [];
    for (const [id, outs] of w.app.state) {
        objects.push(`image/${id}`);
        if (outs.templateId >= 0) objects.push(`vmtemplate/${outs.templateId}`);
    }
    for (const id of w.vm.state.keys()) objects.push(`vm/${id}`);
    for (const [id, outs] of w.router.state) objects.push(`vrouter/${id}`, ...outs.vms.map((vm: { vmId: number }) => `vm/${vm.vmId}`));
    for (const id of w.network.state.keys()) objects.push(`vnet/${id}`);
    return objects.sort();
}

/** Asserts that OpenNebula holds exactly what Pulumi state holds, plus `extra` objects a test made by hand. */
export function assertNothingOrphaned(w: Workloads, extra: string[] = []): void {
    assert.deepStrictEqual(heldObjects(w), [...objectsInState(w), ...extra].sort(), "OpenNebula holds exactly what Pulumi state holds");
}

/** Deletes everything left in state, routers and VMs first (they hold leases and images). */
export async function deleteAll(w: Workloads): Promise<void> {
    for (const lifecycle of [w.router, w.vm, w.app, w.network]) {
        for (const id of [...lifecycle.state.keys()]) await lifecycle.delete(id);
    }
}

/** A bridged network `name` with one IPv4 range, READY. */
export async function bridgedNetwork(
    w: Workloads,
    name: string,
    ip: string,
    size: number,
    range: Record<string, unknown> = {},
): Promise<number> {
    const { outs } = await w.network.create({
        name,
        vnMad: "bridge",
        template: { BRIDGE: `br-${name}`.slice(0, 15) },
        addressRanges: [{ TYPE: "IP4", IP: ip, SIZE: size, ...range }],
    });
    return outs.oneId;
}

/** The leases of a network: IP → owner (`VM 3`, `VROUTER 1`). */
export async function leasesOf(w: Workloads, networkId: number): Promise<Record<string, string>> {
    const vnet = parseXml(String(await w.client.call("one.vn.info", networkId)));
    const leases: Record<string, string> = {};
    for (const ar of children(
        vnet.children.find((c) => c.name === "AR_POOL")!,
        "AR",
    )) {
        const list = ar.children.find((c) => c.name === "LEASES");
        for (const lease of list ? children(list, "LEASE") : []) {
            const owner = ["VM", "VROUTER", "VNET"].find((kind) => childText(lease, kind) !== undefined)!;
            leases[childText(lease, "IP")!] = `${owner} ${childText(lease, owner)}`;
        }
    }
    return leases;
}
