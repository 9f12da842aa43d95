import * as assert from "assert";
import { childText, children, parseXml } from "../../components/opennebula/xml";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { clusterMembershipProvider } from "../../components/opennebula/resources/cluster-membership";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";
import type { OneTarget } from "./harness";
import { Lifecycle, rejects, startTarget } from "./harness";

// The CRUD suite of every dynamic resource. It runs against the test double, or unchanged against a
// real OpenNebula front-end when ONE_XMLRPC and ONE_AUTH are set (see the README).

type Kind = "cluster" | "host" | "datastore" | "vnet" | "vntemplate";

describe("OpenNebula resources: create, read, drift, update, replace, delete", function () {
    let target: OneTarget;
    let lifecycles: Record<Kind | "membership", Lifecycle>;
    const cluster = () => lifecycles.cluster;
    const host = () => lifecycles.host;
    const datastore = () => lifecycles.datastore;
    const vnet = () => lifecycles.vnet;
    const vntemplate = () => lifecycles.vntemplate;

    before(async function () {
        target = await startTarget();
        if (target.kind === "real") console.log(`      (running against the real OpenNebula at ${target.connection.endpoint})`);
        const make = (provider: any) => new Lifecycle(provider, target.connection);
        lifecycles = {
            cluster: make(clusterProvider),
            host: make(hostProvider),
            datastore: make(datastoreProvider),
            vnet: make(virtualNetworkProvider),
            vntemplate: make(vnTemplateProvider),
            membership: make(clusterMembershipProvider),
        };
    });

    after(async function () {
        if (target) {
            await removeLeftovers(target);
            await target.stop();
        }
    });

    afterEach(function () {
        // Nothing orphaned: every object OpenNebula holds is one that Pulumi state also holds.
        if (!target.double) return;
        const held = target.double
            .objects()
            .filter((o) => !o.builtin)
            .map((o) => `${o.kind}/${o.id}`)
            .sort();
        const kinds: Kind[] = ["cluster", "host", "datastore", "vnet", "vntemplate"];
        const inState = kinds.flatMap((kind) => [...lifecycles[kind].state.keys()].map((id) => `${kind}/${id}`)).sort();
        assert.deepStrictEqual(held, inState, "objects in OpenNebula and in Pulumi state differ");
    });

    describe("Cluster", function () {
        it("creates, reads back unchanged, renames and updates in place, and deletes", async function () {
            const name = target.name("c1");
            const { id, outs } = await cluster().create({ name, template: { reserved_cpu: "10" } });
            assert.strictEqual(outs.name, name);
            assert.deepStrictEqual(outs.template, { RESERVED_CPU: "10" });
            if (target.double) assert.ok(outs.oneId >= 100, "user clusters start at 100");
            assert.deepStrictEqual(await cluster().read(id), outs);

            const renamed = await cluster().up(id, { name: `${name}-b`, template: { RESERVED_CPU: "20", DESCRIPTION: "edge" } });
            assert.strictEqual(renamed.id, id, "rename and template changes are in place");
            assert.deepStrictEqual(renamed.diff.replaces, []);
            const read = await cluster().read(id);
            assert.strictEqual(read?.name, `${name}-b`);
            assert.deepStrictEqual(read?.template, { RESERVED_CPU: "20", DESCRIPTION: "edge" });

            await cluster().up(id, { name: `${name}-b`, template: { DESCRIPTION: "edge" } });
            const info = await target.client.call("one.cluster.info", Number(id));
            assert.doesNotMatch(String(info), /<RESERVED_CPU><!\[CDATA\[20/, "an attribute no longer declared is removed");
            const last = cluster().state.get(id)!;
            await cluster().delete(id);
            assert.ok(await cluster().isGone(id, last));
        });

        it("shows a template changed outside Pulumi as drift, and the next up restores it", async function () {
            const { id } = await cluster().create({ name: target.name("drift"), template: { RESERVED_MEM: "1024" } });
            await target.client.call("one.cluster.update", Number(id), 'RESERVED_MEM = "0"', 1);
            const refreshed = await cluster().read(id);
            assert.deepStrictEqual(refreshed?.template, { RESERVED_MEM: "0" });
            const { diff } = await cluster().up(id, { name: target.name("drift"), template: { RESERVED_MEM: "1024" } });
            assert.strictEqual(diff.changes, true);
            assert.deepStrictEqual((await cluster().read(id))?.template, { RESERVED_MEM: "1024" });
            await cluster().delete(id);
        });

        it("drops an object deleted outside Pulumi from state on refresh, and deleting it again succeeds", async function () {
            const { id, outs } = await cluster().create({ name: target.name("gone") });
            await target.client.call("one.cluster.delete", Number(id));
            await cluster().provider.delete!(id, outs); // delete of an already-deleted object is a success
            assert.strictEqual(await cluster().read(id), undefined);
        });

        it("refuses a name that another cluster already has, and creates nothing", async function () {
            const name = target.name("taken");
            const existing = Number(await target.client.call("one.cluster.allocate", name));
            try {
                await rejects(
                    cluster().create({ name }),
                    /^cluster ".*-taken" already exists in OpenNebula \(ID \d+\) and was not created by this resource.*nothing was adopted, changed or deleted/,
                );
            } finally {
                await target.client.call("one.cluster.delete", existing);
            }
        });

        it("rejects bad input in check, naming the field, before any API call", async function () {
            const before = target.double?.calls() ?? 0;
            await rejects(cluster().create({ name: "" }), /^name: name must be a non-empty string/);
            await rejects(cluster().create({ name: "a/b" }), /^name: name must not contain "\/"/);
            await rejects(cluster().create({ name: "ok", template: { "BAD NAME": "x" } }), /^template: /);
            await rejects(cluster().create({ name: "ok", connection: { endpoint: "ftp://x" } }), /^connection: connection.endpoint/);
            if (target.double) assert.strictEqual(target.double.calls(), before, "no XML-RPC call for invalid input");
        });

        it("treats a change of credentials or endpoint alone as an in-place update, never a replacement", async function () {
            const name = target.name("creds");
            const { id } = await cluster().create({ name });
            const diff = await cluster().diff(id, {
                name,
                connection: { ...target.connection, endpoint: target.connection.endpoint.replace("127.0.0.1", "localhost") },
            });
            assert.strictEqual(diff.changes, true);
            assert.deepStrictEqual(diff.replaces, []);
            await cluster().delete(id);
        });
    });

    describe("Host", function () {
        it("creates offline, enables, waits until MONITORED; moves cluster and state in place", async function () {
            const c1 = await cluster().create({ name: target.name("hc1") });
            const c2 = await cluster().create({ name: target.name("hc2") });
            const name = target.name("h1");
            const waitForMonitored = target.kind === "double"; // a made-up host cannot be monitored by a real front-end
            const { id, outs } = await host().create({
                name,
                imMad: "kvm",
                clusterId: Number(c1.id),
                waitForMonitored,
                template: { PROVIDER: "lab" },
            });
            assert.strictEqual(outs.clusterId, Number(c1.id));
            assert.strictEqual(outs.vmMad, "kvm", "vmMad defaults to imMad");
            if (waitForMonitored) assert.strictEqual(outs.stateCode, 2, "MONITORED");
            assert.deepStrictEqual(outs.template, { PROVIDER: "lab" });

            const moved = await host().up(id, {
                name,
                imMad: "kvm",
                clusterId: Number(c2.id),
                state: "disabled",
                waitForMonitored,
                template: { PROVIDER: "lab" },
            });
            assert.strictEqual(moved.id, id);
            assert.strictEqual(moved.outs.clusterId, Number(c2.id));
            assert.strictEqual(moved.outs.state, "disabled");
            assert.strictEqual(moved.outs.stateCode, 4);

            const replaced = await host().up(id, { name, imMad: "qemu", clusterId: Number(c2.id), state: "offline", waitForMonitored });
            assert.deepStrictEqual(replaced.diff.replaces, ["imMad", "vmMad"]);
            assert.strictEqual(replaced.diff.deleteBeforeReplace, true, "same name: delete first, names are unique");
            assert.notStrictEqual(replaced.id, id);
            assert.strictEqual(replaced.outs.stateCode, 8, "OFFLINE");
            await host().delete(replaced.id);
            await cluster().delete(c1.id);
            await cluster().delete(c2.id);
        });

        it("shows a host set offline outside Pulumi as drift and enables it again", async function () {
            const name = target.name("h2");
            const args = { name, state: "disabled" };
            const { id } = await host().create(args);
            await target.client.call("one.host.status", Number(id), 2);
            assert.strictEqual((await host().read(id))?.state, "offline");
            const { diff, outs } = await host().up(id, args);
            assert.strictEqual(diff.changes, true);
            assert.strictEqual(outs.state, "disabled");
            await host().delete(id);
        });

        it("deletes a host that went to ERROR again and names it in the error", async function () {
            if (!target.double) this.skip(); // needs the double's unreachable host
            const err = await rejects(
                host().create({ name: `unreachable-${target.name("h")}` }),
                /^host \d+ was created but host \d+ \(unreachable-[^)]+\) went to ERROR/,
            );
            assert.match(err.message, /deleted again so nothing is left behind/);
        });

        it("rejects unknown drivers, bad host names and clusters in check", async function () {
            await rejects(host().create({ name: "h", imMad: "xen" }), /imMad must be one of kvm, qemu, lxc/);
            await rejects(host().create({ name: "-h" }), /name must be a host name/);
            await rejects(host().create({ name: "h1", clusterId: 1.5 }), /clusterId must be an integer/);
            await rejects(host().create({ name: "h1", state: "on" }), /state must be one of enabled, disabled, offline/);
        });
    });

    describe("Datastore", function () {
        it("creates a system datastore in two clusters, updates memberships and template in place, replaces on a driver change", async function () {
            const c1 = await cluster().create({ name: target.name("dc1") });
            const c2 = await cluster().create({ name: target.name("dc2") });
            const name = target.name("system");
            const args = {
                name,
                type: "system_ds",
                tmMad: "ssh",
                clusterIds: [Number(c1.id), Number(c2.id)],
                template: { REPLICA_HOST: "10.0.0.4" },
            };
            const { id, outs } = await datastore().create(args);
            assert.strictEqual(outs.type, "SYSTEM_DS");
            assert.deepStrictEqual(
                outs.clusterIds,
                [Number(c1.id), Number(c2.id)].sort((a, b) => a - b),
            );
            assert.match(outs.basePath, new RegExp(`/datastores/${id}$`));
            assert.deepStrictEqual(await datastore().read(id), outs);

            const updated = await datastore().up(id, { ...args, clusterIds: [Number(c2.id)], template: { REPLICA_HOST: "10.0.0.5" } });
            assert.strictEqual(updated.id, id);
            const read = await datastore().read(id);
            assert.deepStrictEqual(read?.clusterIds, [Number(c2.id)]);
            assert.deepStrictEqual(read?.template, { REPLICA_HOST: "10.0.0.5" });

            const replaced = await datastore().up(id, { ...args, tmMad: "shared", clusterIds: [Number(c2.id)] });
            assert.deepStrictEqual(replaced.diff.replaces, ["tmMad"]);
            assert.notStrictEqual(replaced.id, id);
            await datastore().delete(replaced.id);
            await cluster().delete(c1.id);
            await cluster().delete(c2.id);
        });

        it("shows a membership removed outside Pulumi as drift and restores it", async function () {
            const c = await cluster().create({ name: target.name("dm") });
            const args = { name: target.name("img"), dsMad: "fs", tmMad: "ssh", clusterIds: [Number(c.id)] };
            const { id } = await datastore().create(args);
            await target.client.call("one.cluster.deldatastore", Number(c.id), Number(id));
            assert.deepStrictEqual((await datastore().read(id))?.clusterIds, []);
            await datastore().up(id, args);
            assert.deepStrictEqual((await datastore().read(id))?.clusterIds, [Number(c.id)]);
            await datastore().delete(id);
            await cluster().delete(c.id);
        });

        it("applies OpenNebula's driver rules in check", async function () {
            await rejects(
                datastore().create({ name: "s", type: "SYSTEM_DS", dsMad: "fs", tmMad: "ssh" }),
                /dsMad must not be set for a SYSTEM_DS/,
            );
            await rejects(datastore().create({ name: "i", tmMad: "ssh" }), /dsMad is required for a IMAGE_DS datastore/);
            await rejects(datastore().create({ name: "i", dsMad: "fs", tmMad: "nfs" }), /tmMad must be one of ssh, shared/);
            await rejects(
                datastore().create({ name: "i", type: "disk", dsMad: "fs", tmMad: "ssh" }),
                /type must be one of IMAGE_DS, SYSTEM_DS/,
            );
            await rejects(
                datastore().create({ name: "i", dsMad: "fs", tmMad: "ssh", template: { TM_MAD: "x" } }),
                /template must not set TM_MAD/,
            );
        });
    });

    describe("VirtualNetwork", function () {
        const bridged = (name: string, extra: Record<string, unknown> = {}) => ({
            name,
            vnMad: "bridge",
            template: { BRIDGE: "br0", NETWORK_ADDRESS: "10.50.0.0", NETWORK_MASK: "255.255.255.0", DNS: "1.1.1.1" },
            addressRanges: [
                { TYPE: "IP4", IP: "10.50.0.10", SIZE: 5 },
                { type: "IP4", ip: "10.50.0.100", size: 2 },
            ],
            readyTimeoutSeconds: 30,
            ...extra,
        });

        it("waits for READY, then changes address ranges and memberships in place, and waits for the asynchronous delete", async function () {
            const c = await cluster().create({ name: target.name("vc") });
            const args = bridged(target.name("pub"));
            const { id, outs } = await vnet().create(args);
            assert.deepStrictEqual(outs.addressRanges, [
                { TYPE: "IP4", IP: "10.50.0.10", SIZE: "5" },
                { TYPE: "IP4", IP: "10.50.0.100", SIZE: "2" },
            ]);
            assert.strictEqual(outs.addressRangeIds.length, 2);
            assert.deepStrictEqual(outs.clusterIds, [0]);
            assert.deepStrictEqual(await vnet().read(id), outs);

            const changed = {
                ...args,
                clusterIds: [Number(c.id)],
                addressRanges: [
                    args.addressRanges[0],
                    { TYPE: "IP4", IP: "10.50.0.100", SIZE: 3 },
                    { TYPE: "IP4", IP: "10.50.0.200", SIZE: 1 },
                ],
            };
            const updated = await vnet().up(id, changed);
            assert.strictEqual(updated.id, id);
            assert.deepStrictEqual(
                updated.outs.addressRanges.map((ar: any) => ar.SIZE),
                ["5", "3", "1"],
            );
            assert.strictEqual(updated.outs.addressRangeIds[0], outs.addressRangeIds[0], "an unchanged range keeps its AR_ID");
            assert.deepStrictEqual(updated.outs.clusterIds, [Number(c.id)]);

            await vnet().delete(id);
            assert.ok(await vnet().isGone(id, updated.outs), "delete returns only once the network is gone");
            await vnet().provider.delete!(id, updated.outs);
            await cluster().delete(c.id);
        });

        it("shows an address range removed outside Pulumi as drift and adds it back", async function () {
            const args = bridged(target.name("drift-net"));
            const { id, outs } = await vnet().create(args);
            await target.client.call("one.vn.rm_ar", Number(id), outs.addressRangeIds[1]);
            assert.strictEqual((await vnet().read(id))?.addressRanges.length, 1);
            await vnet().up(id, args);
            assert.strictEqual((await vnet().read(id))?.addressRanges.length, 2);
            await vnet().delete(id);
        });

        it("deletes a network that went to ERROR again and says why", async function () {
            if (!target.double) this.skip(); // check rejects such a range; only a direct provider call gets it to OpenNebula
            const inputs = await vnet().check(bridged(target.name("bad")));
            (inputs.addressRanges as any[])[0].TYPE = "IP5";
            await rejects(vnet().provider.create!(inputs), /^virtual network \d+ was created but it went to ERROR.*deleted again/s);
        });

        it("replaces the network when the driver changes", async function () {
            const args = bridged(target.name("repl"));
            const { id } = await vnet().create(args);
            const replaced = await vnet().up(id, {
                ...args,
                vnMad: "vxlan",
                template: { ...args.template, PHYDEV: "wg0", VLAN_ID: "4100" },
            });
            assert.deepStrictEqual(replaced.diff.replaces, ["vnMad"]);
            assert.strictEqual(replaced.outs.vlanId, "4100");
            await vnet().delete(replaced.id);
        });

        it("rejects bad address ranges and driver attributes in check", async function () {
            const name = target.name("x");
            await rejects(
                vnet().create({ ...bridged(name), addressRanges: [{ TYPE: "IP4", IP: "10.50.0.10", SIZE: 0 }] }),
                /addressRanges\[0\]\.SIZE must be an integer > 0/,
            );
            await rejects(
                vnet().create({ ...bridged(name), addressRanges: [{ TYPE: "IP4", IP: "10.50.1.10", SIZE: 2 }] }),
                /does not fit in the network 10\.50\.0\.0\/24/,
            );
            await rejects(
                vnet().create({ ...bridged(name), addressRanges: [{ TYPE: "IP4", IP: "10.50.0.250", SIZE: 10 }] }),
                /does not fit/,
            );
            await rejects(
                vnet().create({ ...bridged(name), addressRanges: [{ TYPE: "IPX", IP: "10.50.0.10", SIZE: 1 }] }),
                /TYPE must be one of IP4/,
            );
            await rejects(
                vnet().create({ ...bridged(name), addressRanges: [{ TYPE: "IP4", IP: "10.50.0", SIZE: 1 }] }),
                /IP must be an IPv4 address/,
            );
            await rejects(
                vnet().create({ name, vnMad: "vxlan" }),
                /PHYDEV is required for the vxlan driver.*VLAN_ID \(or AUTOMATIC_VLAN_ID/,
            );
            await rejects(
                vnet().create({ name, vnMad: "vxlan", template: { PHYDEV: "wg0", VLAN_ID: 16777216 } }),
                /VLAN_ID must be an integer from 1 to 16777215/,
            );
            await rejects(vnet().create({ name, vnMad: "openvpn" }), /vnMad must be one of/);
        });
    });

    describe("VirtualNetworkTemplate", function () {
        it("creates, drifts, updates and renames in place, replaces on a driver change, deletes", async function () {
            const name = target.name("evpn");
            const args = {
                name,
                vnMad: "vxlan",
                template: { PHYDEV: "wg0", VLAN_ID: "4100", VXLAN_MODE: "evpn", IP_LINK_CONF: "nolearning=" },
            };
            const { id, outs } = await vntemplate().create(args);
            assert.deepStrictEqual((await vntemplate().read(id))?.template, outs.template);
            await target.client.call("one.vntemplate.update", Number(id), 'VXLAN_MODE = "multicast"', 1);
            assert.strictEqual((await vntemplate().read(id))?.template.VXLAN_MODE, "multicast");
            const updated = await vntemplate().up(id, { ...args, name: `${name}-2` });
            assert.strictEqual(updated.id, id);
            const read = await vntemplate().read(id);
            assert.strictEqual(read?.name, `${name}-2`);
            assert.strictEqual(read?.template.VXLAN_MODE, "evpn");
            const replaced = await vntemplate().up(id, { name: `${name}-2`, vnMad: "bridge", template: {} });
            assert.deepStrictEqual(replaced.diff.replaces, ["vnMad"]);
            await vntemplate().delete(replaced.id);
            await vntemplate().provider.delete!(replaced.id, replaced.outs);
        });
    });

    describe("ClusterMembership", function () {
        it("adds an existing datastore to a cluster, notices its removal, and removes it on delete", async function () {
            const c = await cluster().create({ name: target.name("mc") });
            const membership = lifecycles.membership;
            const { id } = await membership.create({ clusterId: Number(c.id), kind: "datastore", memberId: 1 });
            assert.ok((await cluster().read(c.id))?.datastoreIds.includes(1));
            assert.ok(await membership.read(id));
            await membership.delete(id);
            assert.ok(!(await cluster().read(c.id))?.datastoreIds.includes(1));
            await membership.create({ clusterId: Number(c.id), kind: "datastore", memberId: 2 });
            await target.client.call("one.cluster.deldatastore", Number(c.id), 2);
            assert.strictEqual(await membership.read(`${c.id}/datastore/2`), undefined);
            await cluster().delete(c.id);
        });
    });
});

/** Deletes whatever a failed run left behind (only objects with this run's name prefix). */
async function removeLeftovers(target: OneTarget): Promise<void> {
    const prefix = target.name("");
    const pools: [string, string, string, number[]][] = [
        ["one.hostpool.info", "HOST", "one.host.delete", []],
        ["one.vnpool.info", "VNET", "one.vn.delete", [-3, -1, -1]],
        ["one.vntemplatepool.info", "VNTEMPLATE", "one.vntemplate.delete", [-3, -1, -1]],
        ["one.datastorepool.info", "DATASTORE", "one.datastore.delete", []],
        ["one.clusterpool.info", "CLUSTER", "one.cluster.delete", []],
    ];
    for (const [pool, element, remove, args] of pools) {
        const objects = children(parseXml(String(await target.client.call(pool, ...args))), element);
        for (const object of objects.filter((o) => childText(o, "NAME")?.startsWith(prefix))) {
            await target.client.call(remove, Number(childText(object, "ID"))).catch(() => undefined);
        }
    }
}
