/**
 * `one.cluster.*` and `one.clusterpool.info`, including the membership quirks: `addhost` moves a
 * host, `delhost` ignores its cluster argument and moves the host to cluster 0, datastores and VNETs
 * may belong to several clusters, and adding an existing membership is a silent success.
 */
import { action, internal } from "./errors";
import type { ClusterObject } from "./objects";
import type { Handler, MethodTable } from "./methods";
import { infoMethod, renameMethod, unfilteredPoolInfo, updateMethod } from "./methods";
import { nameError } from "./names";
import { OneTemplate } from "./template";
import type { MemberKind, World } from "./world";
import { element, idCollection } from "./xml";

/** Creates the built-in cluster 0 "default". */
export function seedClusters(world: World): void {
    world.clusters.insertBuiltin(newCluster(0, "default", true));
}

/** Registers the cluster methods. */
export function registerClusterMethods(world: World, methods: MethodTable): void {
    const pool = world.clusters;
    const render = (c: ClusterObject) => clusterXml(c);
    methods.define("one.cluster.allocate", (params) => allocate(world, params.string(1)));
    methods.define("one.cluster.delete", (params) => remove(world, params.int(1)));
    methods.define("one.cluster.info", infoMethod(pool, render));
    methods.define("one.cluster.update", updateMethod(pool, undefined, undefined, { dropsCdataEnd: true }));
    methods.define("one.cluster.rename", renameMethod(pool));
    methods.define("one.cluster.addhost", (params) => moveHost(world, params.int(1), params.int(2)));
    // The cluster argument is ignored: a host is always in exactly one cluster.
    methods.define("one.cluster.delhost", (params) => moveHost(world, 0, params.int(2)));
    methods.define("one.cluster.adddatastore", membership(world, "datastore", true));
    methods.define("one.cluster.deldatastore", membership(world, "datastore", false));
    methods.define("one.cluster.addvnet", membership(world, "vnet", true));
    methods.define("one.cluster.delvnet", membership(world, "vnet", false));
    methods.define("one.clusterpool.info", unfilteredPoolInfo("CLUSTER_POOL", pool, render));
}

/** `<CLUSTER>` in §6 order. */
export function clusterXml(c: ClusterObject): string {
    return element(
        "CLUSTER",
        element("ID", c.id) +
            element("NAME", c.name) +
            idCollection("HOSTS", c.hosts) +
            idCollection("DATASTORES", c.datastores) +
            idCollection("VNETS", c.vnets) +
            c.template.toXml(),
    );
}

function newCluster(id: number, name: string, builtin: boolean): ClusterObject {
    const template = OneTemplate.of({ RESERVED_CPU: "", RESERVED_MEM: "" });
    return { id, name, builtin, template, hosts: new Set(), datastores: new Set(), vnets: new Set() };
}

function allocate(world: World, name: string): number {
    const invalid = nameError(name);
    if (invalid) throw internal(invalid);
    world.clusters.assertNameFree(name);
    const cluster = newCluster(world.clusters.peekNextId(), name, false);
    world.clusters.insert(cluster);
    return cluster.id;
}

/** `ClusterPool::drop` + `Cluster::check_drop`: system clusters never, then hosts, datastores, vnets. */
function remove(world: World, id: number): number {
    const cluster = world.clusters.get(id);
    const refuse = (reason: string) => action(`Cannot delete cluster. ${reason}`);
    if (id < 100) throw refuse("System Clusters (ID < 100) cannot be deleted.");
    const notEmpty = (count: number, what: string) => refuse(`Cluster ${id} is not empty, it contains ${count} ${what}.`);
    if (cluster.hosts.size > 0) throw notEmpty(cluster.hosts.size, "hosts");
    if (cluster.datastores.size > 0) throw notEmpty(cluster.datastores.size, "datastores");
    if (cluster.vnets.size > 0) throw notEmpty(cluster.vnets.size, "vnets");
    world.clusters.remove(id);
    return id;
}

/** `RequestManagerClusterHost::add_generic`: the host leaves its old cluster; already there → success. */
function moveHost(world: World, clusterId: number, hostId: number): number {
    world.clusters.get(clusterId);
    const host = world.hosts.get(hostId);
    if (host.clusterId !== clusterId) world.join("host", hostId, clusterId);
    return clusterId;
}

/** `RequestManagerCluster::action_generic` for datastores and VNETs (add or remove one membership). */
function membership(world: World, kind: Exclude<MemberKind, "host">, add: boolean): Handler {
    return (params) => {
        const clusterId = params.int(1);
        const objectId = params.int(2);
        world.clusters.get(clusterId);
        const object = kind === "datastore" ? world.datastores.get(objectId) : world.vnets.get(objectId);
        const member = object.clusters.has(clusterId);
        if (add && !member) world.join(kind, objectId, clusterId);
        if (!add && member) world.leave(kind, objectId, clusterId);
        return clusterId;
    };
}
