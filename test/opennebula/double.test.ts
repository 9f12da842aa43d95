// Tests of the OpenNebula XML-RPC test double itself, over raw HTTP: the wire format, the quirks it
// promises to reproduce, and fault injection. Written without the package's client on purpose, so a
// bug in one cannot hide a bug in the other.
import * as assert from "assert";
import * as http from "http";
import { OneDouble } from "../support/one-double";
import { Raw, bool, callXml, decode, infoParser, int, post, sleep, str, waitFor } from "../support/raw-rpc";

const VXLAN = (name: string, extra = "") =>
    `NAME = "${name}"\nVN_MAD = "vxlan"\nPHYDEV = "wg0"\nVLAN_ID = "4100"\n${extra}AR = [ TYPE = "IP4", IP = "10.99.1.10", SIZE = "200" ]`;

// ---------------------------------------------------------------------------------------------

describe("OneDouble (OpenNebula XML-RPC test double)", function () {
    this.timeout(10000);
    let one: OneDouble;
    let rpc: Raw;

    beforeEach(async () => {
        one = await OneDouble.start({ vnetCreateMs: 60, vnetDeleteMs: 60, hostMonitorMs: 400 });
        rpc = new Raw(one);
    });
    afterEach(async () => {
        await one.stop();
    });

    describe("wire format", () => {
        it("answers success as [boolean 1, value, i4 0] with text/xml; charset=utf-8", async () => {
            const res = await post(one.endpoint, callXml("one.system.version", [rpc.session]));
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.headers["content-type"], "text/xml; charset=utf-8");
            assert.deepStrictEqual(decode(res.body), {
                values: [
                    { type: "boolean", text: "1" },
                    { type: "string", text: "6.10.0" },
                    { type: "i4", text: "0" },
                ],
            });
        });

        it("answers failure as five elements ending in <i8>0</i8>, prefixed with [method]", async () => {
            const res = await post(one.endpoint, callXml("one.cluster.info", [rpc.session, int(999)]));
            assert.match(res.body, /<value><i8>0<\/i8><\/value><\/data>/);
            assert.deepStrictEqual(decode(res.body), {
                values: [
                    { type: "boolean", text: "0" },
                    { type: "string", text: "[one.cluster.info] Error getting cluster [999]." },
                    { type: "i4", text: "1024" },
                    { type: "i4", text: "999" },
                    { type: "i8", text: "0" },
                ],
            });
        });

        it("returns the configured version", async () => {
            await one.stop();
            one = await OneDouble.start({ version: "7.0.1" });
            rpc = new Raw(one);
            assert.strictEqual(await rpc.ok("one.system.version"), "7.0.1");
        });

        it("rejects a wrong password with AUTHENTICATION (256)", async () => {
            const res = await post(one.endpoint, callXml("one.clusterpool.info", [str("oneadmin:wrong")]));
            const d = decode(res.body);
            assert.ok("values" in d);
            assert.strictEqual(d.values[1].text, "[one.clusterpool.info] User couldn't be authenticated, aborting call.");
            assert.strictEqual(d.values[2].text, "256");
        });

        it("answers an unknown method with fault -506", async () => {
            assert.deepStrictEqual(await rpc.fault("one.foo.bar"), { code: -506, message: "Method 'one.foo.bar' not defined" });
        });

        it("answers a wrong parameter type or a missing parameter with fault -501", async () => {
            assert.deepStrictEqual(await rpc.fault("one.cluster.info", str("0")), {
                code: -501,
                message: "Parameter that is supposed to be integer is not",
            });
            assert.deepStrictEqual(await rpc.fault("one.cluster.info", { i8: 0 }), {
                code: -501,
                message: "Parameter that is supposed to be integer is not",
            });
            assert.deepStrictEqual(await rpc.fault("one.cluster.rename", int(0)), { code: -501, message: "Not enough parameters" });
            assert.deepStrictEqual(await rpc.fault("one.cluster.info", int(0), str("yes")), {
                code: -501,
                message: "Parameter that is supposed to be boolean is not",
            });
        });

        it("keeps XML in strings intact and accepts an untyped <value> as a string", async () => {
            const body = callXml("one.cluster.allocate", [rpc.session]).replace(
                "</params>",
                "<param><value>a&amp;b</value></param></params>",
            );
            const d = decode((await post(one.endpoint, body)).body);
            assert.ok("values" in d);
            assert.strictEqual(d.values[1].text, "[one.cluster.allocate] Invalid NAME, char '&' is not allowed");
            const clusterXml = await rpc.ok("one.cluster.info", int(0));
            assert.match(clusterXml, /^<CLUSTER><ID>0<\/ID><NAME>default<\/NAME>/);
        });

        it("rejects what xmlrpc-c's HTTP layer rejects, and does not count it as a call", async () => {
            const call = callXml("one.system.version", [rpc.session]);
            assert.strictEqual((await post(one.endpoint.replace("/RPC2", "/other"), call)).status, 404);
            const get = await post(one.endpoint, "", { method: "GET", headers: { "Content-Length": 0 } });
            assert.strictEqual(get.status, 405);
            assert.strictEqual((await post(one.endpoint, call, { headers: { "Content-Type": "application/json" } })).status, 400);
            const parse = decode((await post(one.endpoint, "<methodCall><oops></methodCall>")).body);
            assert.ok("fault" in parse && parse.fault.code === -503);
            assert.strictEqual(one.calls(), 0);
        });

        it("honours HTTP keep-alive", async () => {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            try {
                const call = callXml("one.system.version", [rpc.session]);
                const first = await post(one.endpoint, call, { agent });
                const second = await post(one.endpoint, call, { agent });
                assert.strictEqual(first.reusedSocket, false);
                assert.strictEqual(second.reusedSocket, true);
            } finally {
                agent.destroy();
            }
        });
    });

    describe("objects and IDs", () => {
        it("starts with cluster 0, datastores 0-2 (in cluster 0) and the public marketplace apps, all builtin", async () => {
            assert.deepStrictEqual(one.objects(), [
                { kind: "cluster", id: 0, name: "default", builtin: true },
                { kind: "datastore", id: 0, name: "system", builtin: true },
                { kind: "datastore", id: 1, name: "default", builtin: true },
                { kind: "datastore", id: 2, name: "files", builtin: true },
                { kind: "marketapp", id: 0, name: "Alpine Linux 3.13", builtin: true },
                { kind: "marketapp", id: 1, name: "Alpine Linux 3.17", builtin: true },
                { kind: "marketapp", id: 2, name: "Service Virtual Router", builtin: true },
            ]);
            const cluster = (await rpc.info("cluster", 0)).CLUSTER;
            assert.deepStrictEqual(cluster.DATASTORES.ID, ["0", "1", "2"]);
            assert.strictEqual(cluster.HOSTS, "");
            const system = (await rpc.info("datastore", 0)).DATASTORE;
            assert.strictEqual(system.TYPE, "1");
            assert.strictEqual(system.DS_MAD, "-");
            assert.strictEqual(system.TEMPLATE.SHARED, "NO");
        });

        it("allocates user clusters and datastores from 100, other kinds from 0, never reusing IDs", async () => {
            assert.strictEqual(await rpc.id("one.cluster.allocate", str("c1")), 100);
            assert.strictEqual(await rpc.id("one.cluster.delete", int(100)), 100);
            assert.strictEqual(await rpc.id("one.cluster.allocate", str("c1")), 101);
            assert.strictEqual(await rpc.id("one.datastore.allocate", str('NAME = "img"\nDS_MAD = "fs"\nTM_MAD = "ssh"'), int(-1)), 100);
            assert.strictEqual(await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1)), 0);
            assert.strictEqual(await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1)), 0);
            assert.strictEqual(await rpc.id("one.vntemplate.allocate", str('NAME = "t"\nVN_MAD = "bridge"')), 0);
            // A failed allocation does not consume an ID.
            await rpc.fail("one.vn.allocate", str('NAME = "bad"'), int(-1));
            assert.strictEqual(await rpc.id("one.vn.allocate", str(VXLAN("net2")), int(-1)), 1);
        });

        it("reports name collisions as INTERNAL (8192) and invalid names with oned's message", async () => {
            await rpc.id("one.cluster.allocate", str("edge"));
            assert.deepStrictEqual(await rpc.fail("one.cluster.allocate", str("edge")), {
                message: "[one.cluster.allocate] NAME is already taken by CLUSTER 100.",
                code: 8192,
                objectId: -1,
            });
            await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1));
            assert.strictEqual(
                (await rpc.fail("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1))).message,
                "[one.host.allocate] NAME is already taken by HOST 0.",
            );
            await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1));
            assert.strictEqual(
                (await rpc.fail("one.vn.allocate", str(VXLAN("net")), int(-1))).message,
                "[one.vn.allocate] NAME is already taken by NET 0.",
            );
            assert.strictEqual(
                (await rpc.fail("one.cluster.allocate", str(""))).message,
                "[one.cluster.allocate] Invalid NAME, it cannot be empty",
            );
            assert.strictEqual(
                (await rpc.fail("one.cluster.allocate", str("a:b"))).message,
                "[one.cluster.allocate] Invalid NAME, char ':' is not allowed",
            );
            assert.strictEqual(
                (await rpc.fail("one.cluster.allocate", str("x".repeat(129)))).message,
                "[one.cluster.allocate] Invalid NAME, max length is 128 chars",
            );
        });

        it("renames: same name succeeds, a collision is ACTION (2048)", async () => {
            await rpc.id("one.cluster.allocate", str("a"));
            await rpc.id("one.cluster.allocate", str("b"));
            assert.strictEqual(await rpc.id("one.cluster.rename", int(100), str("a")), 100);
            assert.deepStrictEqual(await rpc.fail("one.cluster.rename", int(100), str("b")), {
                message: "[one.cluster.rename] cluster cannot be renamed to b because it collides with cluster 101",
                code: 2048,
                objectId: -1,
            });
            await rpc.id("one.cluster.rename", int(100), str("c"));
            assert.strictEqual((await rpc.info("cluster", 100)).CLUSTER.NAME, "c");
        });

        it("reports unknown IDs as NO_EXISTS (1024) with the ID, and an unknown cluster on allocate for the cluster", async () => {
            assert.deepStrictEqual(await rpc.fail("one.host.info", int(42)), {
                message: "[one.host.info] Error getting host [42].",
                code: 1024,
                objectId: 42,
            });
            assert.deepStrictEqual(await rpc.fail("one.vn.delete", int(7)), {
                message: "[one.vn.delete] Error getting virtual network [7].",
                code: 1024,
                objectId: 7,
            });
            assert.deepStrictEqual(await rpc.fail("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(77)), {
                message: "[one.host.allocate] Error getting cluster [77].",
                code: 1024,
                objectId: 77,
            });
            assert.strictEqual(one.objects().filter((o) => o.kind === "host").length, 0);
        });

        it("treats cluster -1 on allocate as cluster 0, visible from both sides", async () => {
            const host = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1));
            const ds = await rpc.id("one.datastore.allocate", str('NAME = "img"\nDS_MAD = "fs"\nTM_MAD = "ssh"'), int(-1));
            const vnet = await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1));
            assert.strictEqual((await rpc.info("host", host)).HOST.CLUSTER_ID, "0");
            assert.strictEqual((await rpc.info("host", host)).HOST.CLUSTER, "default");
            assert.deepStrictEqual((await rpc.info("datastore", ds)).DATASTORE.CLUSTERS.ID, ["0"]);
            assert.deepStrictEqual((await rpc.info("vn", vnet)).VNET.CLUSTERS.ID, ["0"]);
            const cluster = (await rpc.info("cluster", 0)).CLUSTER;
            assert.deepStrictEqual(cluster.HOSTS.ID, [String(host)]);
            assert.deepStrictEqual(cluster.DATASTORES.ID, ["0", "1", "2", String(ds)]);
            assert.deepStrictEqual(cluster.VNETS.ID, [String(vnet)]);
        });

        it("refuses to delete a non-empty cluster (hosts, then datastores, then vnets) and cluster 0", async () => {
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            const h1 = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(c));
            const h2 = await rpc.id("one.host.allocate", str("node-2"), str("kvm"), str("kvm"), int(c));
            await rpc.id("one.cluster.adddatastore", int(c), int(1));
            assert.deepStrictEqual(await rpc.fail("one.cluster.delete", int(c)), {
                message: "[one.cluster.delete] Cannot delete cluster. Cluster 100 is not empty, it contains 2 hosts.",
                code: 2048,
                objectId: -1,
            });
            await rpc.id("one.host.delete", int(h1));
            await rpc.id("one.cluster.delhost", int(c), int(h2));
            assert.strictEqual(
                (await rpc.fail("one.cluster.delete", int(c))).message,
                "[one.cluster.delete] Cannot delete cluster. Cluster 100 is not empty, it contains 1 datastores.",
            );
            await rpc.id("one.cluster.deldatastore", int(c), int(1));
            assert.strictEqual(await rpc.id("one.cluster.delete", int(c)), c);
            assert.strictEqual(
                (await rpc.fail("one.cluster.delete", int(0))).message,
                "[one.cluster.delete] Cannot delete cluster. System Clusters (ID < 100) cannot be deleted.",
            );
        });

        it("moves hosts on addhost, and to cluster 0 on delhost whatever cluster is named", async () => {
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            const h = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(0));
            assert.strictEqual(await rpc.id("one.cluster.addhost", int(c), int(h)), c);
            assert.strictEqual((await rpc.info("host", h)).HOST.CLUSTER_ID, String(c));
            assert.strictEqual((await rpc.info("cluster", 0)).CLUSTER.HOSTS, "");
            assert.strictEqual(await rpc.id("one.cluster.addhost", int(c), int(h)), c, "already a member: success");
            assert.strictEqual(await rpc.id("one.cluster.delhost", int(555), int(h)), 0);
            assert.strictEqual((await rpc.info("host", h)).HOST.CLUSTER_ID, "0");
            assert.strictEqual((await rpc.info("cluster", c)).CLUSTER.HOSTS, "");
        });

        it("lets datastores and vnets belong to several clusters", async () => {
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            const v = await rpc.id("one.vn.allocate", str(VXLAN("net")), int(0));
            await rpc.id("one.cluster.addvnet", int(c), int(v));
            await rpc.id("one.cluster.addvnet", int(c), int(v));
            assert.deepStrictEqual((await rpc.info("vn", v)).VNET.CLUSTERS.ID, ["0", String(c)]);
            await rpc.id("one.cluster.delvnet", int(0), int(v));
            assert.deepStrictEqual((await rpc.info("vn", v)).VNET.CLUSTERS.ID, [String(c)]);
            assert.strictEqual((await rpc.info("cluster", 0)).CLUSTER.VNETS, "");
        });

        it("lists pools; filtered pools reject filter < -4", async () => {
            await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1));
            const pool = infoParser.parse(await rpc.ok("one.vnpool.info", int(-2), int(-1), int(-1)));
            assert.strictEqual(pool.VNET_POOL.VNET.NAME, "net");
            assert.deepStrictEqual(await rpc.fail("one.vnpool.info", int(-5), int(-1), int(-1)), {
                message: "[one.vnpool.info] Incorrect filter_flag",
                code: 4096,
                objectId: -1,
            });
            assert.strictEqual(await rpc.ok("one.vntemplatepool.info", int(-2), int(-1), int(-1)), "<VNTEMPLATE_POOL/>");
            const clusters = infoParser.parse(await rpc.ok("one.clusterpool.info", bool(false)));
            assert.strictEqual(clusters.CLUSTER_POOL.CLUSTER.NAME, "default");
        });
    });

    describe("templates", () => {
        it("merges per top-level name (type 1), replaces by default, and rejects other types", async () => {
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            await rpc.id("one.cluster.update", int(c), str('PROVISION = [ ID = "1", NAME = "p" ]\nA = "1"\nX = [ K = "v" ]'), int(1));
            await rpc.id("one.cluster.update", int(c), str('PROVISION = [ ID = "3" ]\nX = [ ]\nA = ""'), int(1));
            let t = (await rpc.info("cluster", c)).CLUSTER.TEMPLATE;
            assert.deepStrictEqual(t.PROVISION, { ID: "3" }, "the whole vector is replaced");
            assert.strictEqual(t.X, undefined, "an empty vector deletes");
            assert.strictEqual(t.A, "", "an empty value stays");
            assert.strictEqual(t.RESERVED_CPU, "", "other attributes stay");
            await rpc.id("one.cluster.update", int(c), str('B = "2"'));
            t = (await rpc.info("cluster", c)).CLUSTER.TEMPLATE;
            assert.deepStrictEqual(Object.keys(t), ["B"], "no type means replace");
            assert.deepStrictEqual(await rpc.fail("one.cluster.update", int(c), str("C = 1"), int(2)), {
                message: "[one.cluster.update] Wrong update type",
                code: 4096,
                objectId: -1,
            });
        });

        it("renders templates sorted by name with CDATA values, and reports parse errors", async () => {
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            await rpc.id("one.cluster.update", int(c), str('zed = "<b>&"\nALPHA = [ Z = "1", A = "2" ]'), int(0));
            const xml = await rpc.ok("one.cluster.info", int(c));
            assert.ok(
                xml.endsWith(
                    "<TEMPLATE><ALPHA><A><![CDATA[2]]></A><Z><![CDATA[1]]></Z></ALPHA><ZED><![CDATA[<b>&]]></ZED></TEMPLATE></CLUSTER>",
                ),
                xml,
            );
            const bad = await rpc.fail("one.cluster.update", int(c), str('A = [ B = "1"'), int(1));
            assert.strictEqual(bad.code, 8192);
            assert.match(bad.message, /^\[one\.cluster\.update\] Cannot update template\. Parse error/);
            const badAlloc = await rpc.fail("one.vn.allocate", str("NAME = [ oops"), int(-1));
            assert.match(badAlloc.message, /^\[one\.vn\.allocate\] Parse error/);
            assert.strictEqual(badAlloc.code, 8192);
        });

        it("accepts XML templates", async () => {
            const ds = await rpc.id(
                "one.datastore.allocate",
                str("<TEMPLATE><NAME>img</NAME><DS_MAD>fs</DS_MAD><TM_MAD>qcow2</TM_MAD></TEMPLATE>"),
                int(-1),
            );
            const info = (await rpc.info("datastore", ds)).DATASTORE;
            assert.strictEqual(info.BASE_PATH, `/var/lib/one//datastores/${ds}`);
            assert.strictEqual(info.TEMPLATE.DRIVER, "qcow2");
            assert.strictEqual(info.TEMPLATE.DISK_TYPE, "FILE");
        });
    });

    describe("hosts", () => {
        it("go INIT → MONITORED, or ERROR with TEMPLATE/ERROR when unreachable", async () => {
            const ok = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1));
            const bad = await rpc.id("one.host.allocate", str("unreachable-1"), str("kvm"), str("kvm"), int(-1));
            const state = async (id: number) => (await rpc.info("host", id)).HOST.STATE;
            assert.strictEqual(await state(ok), "0");
            await waitFor(async () => (await state(ok)) === "2" && (await state(bad)) === "3", "monitoring");
            const host = (await rpc.info("host", ok)).HOST;
            assert.strictEqual(host.HOST_SHARE.TOTAL_CPU, "200");
            assert.strictEqual(host.TEMPLATE.IM_MAD, "kvm");
            assert.match((await rpc.info("host", bad)).HOST.TEMPLATE.ERROR, /Error monitoring Host unreachable-1 \(1\)/);
        });

        it("follow one.host.status: disable, enable straight to MONITORED, offline, bad code", async () => {
            const h = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1));
            await waitFor(async () => (await rpc.info("host", h)).HOST.STATE === "2", "MONITORED");
            await rpc.id("one.host.status", int(h), int(1));
            assert.strictEqual((await rpc.info("host", h)).HOST.STATE, "4");
            await rpc.id("one.host.status", int(h), int(0));
            assert.strictEqual((await rpc.info("host", h)).HOST.STATE, "2", "a disabled host with capacity goes straight back");
            await rpc.id("one.host.status", int(h), int(2));
            assert.strictEqual((await rpc.info("host", h)).HOST.STATE, "8");
            assert.deepStrictEqual(await rpc.fail("one.host.status", int(h), int(7)), {
                message: "[one.host.status] Wrong status code",
                code: 8192,
                objectId: -1,
            });
            one.setHostState(h, 3);
            assert.strictEqual((await rpc.info("host", h)).HOST.STATE, "3");
            assert.throws(() => one.setHostState(99, 3), /no host 99/);
        });

        it("require IM and VM drivers; validate hostnames from 6.10.1", async () => {
            assert.strictEqual(
                (await rpc.fail("one.host.allocate", str("node-1"), str(""), str("kvm"), int(-1))).message,
                "[one.host.allocate] IM_MAD_NAME cannot be empty.",
            );
            assert.strictEqual(
                await rpc.id("one.host.allocate", str("-odd"), str("kvm"), str("kvm"), int(-1)),
                0,
                "6.10.0 has no hostname check",
            );
            await one.stop();
            one = await OneDouble.start({ version: "6.10.1" });
            rpc = new Raw(one);
            assert.strictEqual(
                (await rpc.fail("one.host.allocate", str("-odd"), str("kvm"), str("kvm"), int(-1))).message,
                "[one.host.allocate] Invalid HOSTNAME, first character can't be '-'",
            );
            assert.strictEqual(
                (await rpc.fail("one.host.allocate", str("fd00::1"), str("kvm"), str("kvm"), int(-1))).message,
                "[one.host.allocate] Invalid HOSTNAME, ':' is invalid character for a HOSTNAME",
            );
        });
    });

    describe("datastores", () => {
        it("validate TYPE, DS_MAD and TM_MAD as Datastore::insert does", async () => {
            const fail = async (text: string) =>
                (await rpc.fail("one.datastore.allocate", str(text), int(-1))).message.replace("[one.datastore.allocate] ", "");
            assert.strictEqual(await fail('NAME = "a"\nTM_MAD = "ssh"'), "No DS_MAD in template.");
            assert.strictEqual(
                await fail('NAME = "a"\nTYPE = "system_ds"\nDS_MAD = "fs"\nTM_MAD = "ssh"'),
                "SYSTEM datastores cannot have DS_MAD defined.",
            );
            assert.strictEqual(await fail('NAME = "a"\nDS_MAD = "nfs"\nTM_MAD = "ssh"'), 'DS_MAD named "nfs" is not defined in oned.conf');
            assert.strictEqual(await fail('NAME = "a"\nDS_MAD = "fs"'), "No TM_MAD in template.");
            assert.strictEqual(
                await fail('NAME = "a"\nDS_MAD = "fs"\nTM_MAD = "local"'),
                'TM_MAD named "local" is not defined in oned.conf',
            );
            assert.strictEqual(
                await fail('NAME = "a"\nDS_MAD = "ceph"\nTM_MAD = "ceph"'),
                'Datastore template is missing the "DISK_TYPE" attribute or it\'s empty.',
            );
            const sys = await rpc.id("one.datastore.allocate", str('NAME = "sys"\nTYPE = "system_ds"\nTM_MAD = "shared"'), int(-1));
            const info = (await rpc.info("datastore", sys)).DATASTORE;
            assert.strictEqual(info.TYPE, "1");
            assert.strictEqual(info.TEMPLATE.SHARED, "YES");
        });
    });

    describe("virtual networks", () => {
        it("are LOCK_CREATE without ARs, then READY with the AR pool filled", async () => {
            const v = await rpc.id("one.vn.allocate", str(VXLAN("net", 'SECURITY_GROUPS = "5"\n')), int(-1));
            let vnet = (await rpc.info("vn", v)).VNET;
            assert.strictEqual(vnet.STATE, "2");
            assert.strictEqual(vnet.AR_POOL, "");
            assert.strictEqual(
                (await rpc.fail("one.vn.add_ar", int(v), str('AR = [ TYPE = "ETHER", SIZE = "1" ]'))).message,
                "[one.vn.add_ar] Could not execute one.vn.add_arVirtual Network is in wrong state: LOCK_CREATE",
            );
            await waitFor(async () => (await rpc.info("vn", v)).VNET.STATE === "1", "READY");
            vnet = (await rpc.info("vn", v)).VNET;
            assert.deepStrictEqual(vnet.AR_POOL.AR, [
                {
                    AR_ID: "0",
                    IP: "10.99.1.10",
                    MAC: "02:00:0a:63:01:0a",
                    SIZE: "200",
                    TYPE: "IP4",
                    MAC_END: "02:00:0a:63:01:d1",
                    IP_END: "10.99.1.209",
                    USED_LEASES: "0",
                    LEASES: "",
                },
            ]);
            assert.strictEqual(vnet.BRIDGE, "onebr.4100");
            assert.strictEqual(vnet.VLAN_ID, "4100");
            assert.strictEqual(vnet.VLAN_ID_AUTOMATIC, "0");
            assert.strictEqual(vnet.TEMPLATE.SECURITY_GROUPS, "0,5");
            assert.strictEqual(vnet.TEMPLATE.AR, undefined, "ARs leave the template");
        });

        it("derive automatic VXLAN IDs (2 + id) and default bridges", async () => {
            await rpc.id("one.vn.allocate", str('NAME = "a"\nVN_MAD = "bridge"'), int(-1));
            const v = await rpc.id(
                "one.vn.allocate",
                str('NAME = "b"\nVN_MAD = "vxlan"\nPHYDEV = "wg0"\nAUTOMATIC_VLAN_ID = "YES"'),
                int(-1),
            );
            const vnet = (await rpc.info("vn", v)).VNET;
            assert.strictEqual(vnet.VLAN_ID, "3");
            assert.strictEqual(vnet.VLAN_ID_AUTOMATIC, "1");
            assert.strictEqual(vnet.BRIDGE, "onebr1");
            assert.strictEqual(vnet.TEMPLATE.AUTOMATIC_VLAN_ID, undefined);
        });

        it("validate VN_MAD, PHYDEV, VLAN_ID and BRIDGE on allocate", async () => {
            const fail = async (text: string) =>
                (await rpc.fail("one.vn.allocate", str(text), int(-1))).message.replace("[one.vn.allocate] ", "");
            assert.strictEqual(await fail('NAME = "n"'), "No VN_MAD in template for Virtual Network.");
            assert.strictEqual(await fail('NAME = "n"\nVN_MAD = "vxlan"\nVLAN_ID = "5"'), "PHYDEV is mandatory for driver vxlan");
            assert.strictEqual(
                await fail('NAME = "n"\nVN_MAD = "802.1Q"\nPHYDEV = "eth0"'),
                "VLAN_ID (or AUTOMATIC_VLAN_ID) is mandatory for driver 802.1Q",
            );
            assert.strictEqual(await fail('NAME = "n"\nVN_MAD = "dummy"'), "BRIDGE is mandatory for driver dummy");
            assert.strictEqual(await fail('NAME = "n"\nVN_MAD = "magic"'), 'VN_MAD named "magic" is not defined in oned.conf');
            assert.strictEqual(await fail('VN_MAD = "bridge"'), "No NAME in template for Virtual Network.");
        });

        it("go to ERROR with TEMPLATE/ERROR when an AR is bad", async () => {
            const v = await rpc.id("one.vn.allocate", str('NAME = "n"\nVN_MAD = "bridge"\nAR = [ TYPE = "IP5", SIZE = "1" ]'), int(-1));
            await waitFor(async () => (await rpc.info("vn", v)).VNET.STATE === "5", "ERROR");
            assert.match((await rpc.info("vn", v)).VNET.TEMPLATE.ERROR, / : Unknown or missing address range TYPE\.$/);
            const w = await rpc.id(
                "one.vn.allocate",
                str('NAME = "m"\nVN_MAD = "bridge"\nAR = [ TYPE = "IP4", SIZE = "0", IP = "10.0.0.1" ]'),
                int(-1),
            );
            await waitFor(async () => (await rpc.info("vn", w)).VNET.STATE === "5", "ERROR");
            assert.match((await rpc.info("vn", w)).VNET.TEMPLATE.ERROR, /Wrong SIZE for address range$/);
        });

        it("delete asynchronously: refused in LOCK_CREATE, LOCK_DELETE, then gone", async () => {
            const v = await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1));
            assert.deepStrictEqual(await rpc.fail("one.vn.delete", int(v)), {
                message: "[one.vn.delete] Cannot delete virtual network. Can not remove a Virtual Network, wrong state LOCK_CREATE",
                code: 2048,
                objectId: -1,
            });
            await waitFor(async () => (await rpc.info("vn", v)).VNET.STATE === "1", "READY");
            assert.strictEqual(await rpc.id("one.vn.delete", int(v)), v);
            const deleting = (await rpc.info("vn", v)).VNET;
            assert.strictEqual(deleting.STATE, "3");
            assert.strictEqual(deleting.AR_POOL, "");
            await waitFor(async () => !(await rpc.exists("vn", v)), "the VNET to disappear");
            assert.strictEqual((await rpc.fail("one.vn.info", int(v))).code, 1024);
            assert.strictEqual((await rpc.info("cluster", 0)).CLUSTER.VNETS, "");
        });

        it("add, update and remove ARs when READY", async () => {
            const v = await rpc.id("one.vn.allocate", str('NAME = "n"\nVN_MAD = "bridge"'), int(-1));
            await waitFor(async () => (await rpc.info("vn", v)).VNET.STATE === "1", "READY");
            await rpc.id(
                "one.vn.add_ar",
                int(v),
                str('AR = [ TYPE = "IP4", IP = "192.168.0.1", SIZE = "10" ]\nAR = [ TYPE = "ETHER", SIZE = "5" ]'),
            );
            await rpc.id("one.vn.add_ar", int(v), str('AR = [ TYPE = "ETHER", SIZE = "5", PROVISION_ID = "p1" ]'));
            let ars = (await rpc.info("vn", v)).VNET.AR_POOL.AR;
            assert.deepStrictEqual(
                ars.map((a: any) => [a.AR_ID, a.TYPE]),
                [
                    ["0", "IP4"],
                    ["1", "ETHER"],
                ],
                "only the first AR vector is used",
            );
            assert.strictEqual(ars[1].PROVISION_ID, "p1");
            assert.match(ars[1].MAC, /^02:00:/);
            await rpc.id("one.vn.update_ar", int(v), str('AR = [ AR_ID = "0", SIZE = "20", GATEWAY = "192.168.0.254" ]'));
            ars = (await rpc.info("vn", v)).VNET.AR_POOL.AR;
            assert.strictEqual(ars[0].SIZE, "20");
            assert.strictEqual(ars[0].GATEWAY, "192.168.0.254");
            assert.strictEqual(ars[0].IP, "192.168.0.1", "IP is kept");
            assert.strictEqual(ars[0].IP_END, "192.168.0.20");
            assert.strictEqual((await rpc.fail("one.vn.rm_ar", int(v), int(9))).message, "[one.vn.rm_ar] Address Range does not exist");
            await rpc.id("one.vn.rm_ar", int(v), int(0));
            await rpc.id("one.vn.add_ar", int(v), str('AR = [ TYPE = "ETHER", SIZE = "1" ]'));
            ars = (await rpc.info("vn", v)).VNET.AR_POOL.AR;
            assert.deepStrictEqual(
                ars.map((a: any) => a.AR_ID),
                ["1", "2"],
                "AR IDs only grow",
            );
            assert.strictEqual(
                (await rpc.fail("one.vn.add_ar", int(v), str('AR = [ TYPE = "IP4", SIZE = "1" ]'))).message,
                "[one.vn.add_ar] Wrong or empty IP attribute",
            );
        });

        it("re-read VN_MAD on update, so a replace without it fails", async () => {
            const v = await rpc.id("one.vn.allocate", str(VXLAN("net")), int(-1));
            await rpc.id("one.vn.update", int(v), str('GUEST_MTU = "1370"'), int(1));
            assert.strictEqual((await rpc.info("vn", v)).VNET.TEMPLATE.GUEST_MTU, "1370");
            assert.deepStrictEqual(await rpc.fail("one.vn.update", int(v), str('GUEST_MTU = "1400"')), {
                message: '[one.vn.update] Cannot update template. VN_MAD named "" is not defined in oned.conf',
                code: 8192,
                objectId: -1,
            });
            assert.strictEqual((await rpc.info("vn", v)).VNET.TEMPLATE.GUEST_MTU, "1370", "a failed update changes nothing");
        });
    });

    describe("virtual network templates", () => {
        it("require VN_MAD and instantiate into a VNET in CLUSTER_IDS", async () => {
            assert.strictEqual(
                (await rpc.fail("one.vntemplate.allocate", str('NAME = "t"'))).message,
                "[one.vntemplate.allocate] Error inserting Template in DB. VN_MAD is mandatory",
            );
            const c = await rpc.id("one.cluster.allocate", str("edge"));
            const t = await rpc.id("one.vntemplate.allocate", str(`NAME = "t"\nVN_MAD = "bridge"\nCLUSTER_IDS = "${c},999"`));
            assert.strictEqual(
                (await rpc.fail("one.vntemplate.allocate", str('NAME = "t"\nVN_MAD = "bridge"'))).message,
                "[one.vntemplate.allocate] NAME is already taken by VN TEMPLATE 0.",
            );
            const named = await rpc.id("one.vntemplate.instantiate", int(t), str("mine"), str('GUEST_MTU = "1370"'));
            const unnamed = await rpc.id("one.vntemplate.instantiate", int(t), str(""), str(""));
            const a = (await rpc.info("vn", named)).VNET;
            assert.strictEqual(a.NAME, "mine");
            assert.strictEqual(a.TEMPLATE.TEMPLATE_ID, String(t));
            assert.strictEqual(a.TEMPLATE.GUEST_MTU, "1370");
            assert.deepStrictEqual(a.CLUSTERS.ID, [String(c)]);
            assert.strictEqual((await rpc.info("vn", unnamed)).VNET.NAME, `t-${unnamed}`);
            const dup = await rpc.fail("one.vntemplate.instantiate", int(t), str("mine"), str(""));
            assert.deepStrictEqual(dup, {
                message: "[one.vntemplate.instantiate] Error allocating a new virtual network template. NAME is already taken by NET 0.",
                code: 16384,
                objectId: -1,
            });
        });
    });

    describe("fault injection", () => {
        it("refuse: connections fail with ECONNREFUSED during the window and succeed after, on the same port", async () => {
            const endpoint = one.endpoint;
            one.inject({ kind: "refuse", forMs: 300 });
            await assert.rejects(
                post(endpoint, callXml("one.system.version", [rpc.session])),
                (err: NodeJS.ErrnoException) => err.code === "ECONNREFUSED",
            );
            await sleep(400);
            assert.strictEqual(one.endpoint, endpoint);
            assert.strictEqual(await rpc.ok("one.system.version"), "6.10.0");
        });

        it("reset before processing: no response and no object; after processing: no response but the object exists", async () => {
            one.inject({ kind: "reset", method: "one.cluster.allocate" });
            await assert.rejects(
                rpc.send("one.cluster.allocate", str("a")),
                (err: NodeJS.ErrnoException) => err.code === "ECONNRESET" || err.code === "EPIPE",
            );
            assert.strictEqual(one.objects().filter((o) => o.kind === "cluster").length, 1);
            one.inject({ kind: "reset", method: "one.cluster.allocate", afterProcessing: true });
            await assert.rejects(rpc.send("one.cluster.allocate", str("a")), (err: NodeJS.ErrnoException) => err.code === "ECONNRESET");
            assert.deepStrictEqual(
                one
                    .objects()
                    .filter((o) => o.kind === "cluster")
                    .map((o) => o.name),
                ["default", "a"],
            );
        });

        it("delay holds the response back", async () => {
            one.inject({ kind: "delay", ms: 250 });
            const started = Date.now();
            assert.strictEqual(await rpc.ok("one.system.version"), "6.10.0");
            assert.ok(Date.now() - started >= 240, `took ${Date.now() - started} ms`);
            const again = Date.now();
            await rpc.ok("one.system.version");
            assert.ok(Date.now() - again < 200, "only once by default");
        });

        it("http answers with the status, executing the call only with afterProcessing", async () => {
            one.inject({ kind: "http", status: 500, method: "one.cluster.allocate" });
            const res = await post(one.endpoint, callXml("one.cluster.allocate", [rpc.session, str("a")]));
            assert.strictEqual(res.status, 500);
            assert.strictEqual(one.objects().filter((o) => !o.builtin).length, 0);
            one.inject({ kind: "http", status: 502, afterProcessing: true });
            assert.strictEqual((await post(one.endpoint, callXml("one.cluster.allocate", [rpc.session, str("a")]))).status, 502);
            assert.deepStrictEqual(
                one
                    .objects()
                    .filter((o) => !o.builtin)
                    .map((o) => `${o.kind}/${o.name}`),
                ["cluster/a"],
            );
        });

        it("fault answers with an XML-RPC <fault>", async () => {
            one.inject({ kind: "fault", faultCode: -32603, faultString: "Internal error", method: "one.vn.info", times: 2 });
            assert.deepStrictEqual(await rpc.ok("one.system.version"), "6.10.0", "other methods are untouched");
            assert.deepStrictEqual(await rpc.fault("one.vn.info", int(0)), { code: -32603, message: "Internal error" });
            assert.deepStrictEqual(await rpc.fault("one.vn.info", int(0)), { code: -32603, message: "Internal error" });
            assert.strictEqual((await rpc.fail("one.vn.info", int(0))).code, 1024, "times: 2 used up");
        });

        it("error answers the Nth matching call with an OpenNebula failure without executing it", async () => {
            one.inject({ kind: "error", code: 8192, message: "Error replicating log entry", method: "one.cluster.allocate", onCall: 2 });
            assert.strictEqual(await rpc.id("one.cluster.allocate", str("a")), 100);
            assert.deepStrictEqual(await rpc.fail("one.cluster.allocate", str("b")), {
                message: "[one.cluster.allocate] Error replicating log entry",
                code: 8192,
                objectId: -1,
            });
            assert.strictEqual(await rpc.id("one.cluster.allocate", str("b")), 101, "b was not created by the failed call");
        });

        it("applies queued faults in order, and clearFaults drops them", async () => {
            one.inject({ kind: "fault", faultCode: 1, faultString: "first" });
            one.inject({ kind: "fault", faultCode: 2, faultString: "second" });
            assert.strictEqual((await rpc.fault("one.system.version")).message, "first");
            one.clearFaults();
            assert.strictEqual(await rpc.ok("one.system.version"), "6.10.0");
        });

        it("rejects fault and option values out of range, naming the field", async () => {
            assert.throws(() => one.inject({ kind: "delay", ms: -1 }), /Fault "delay"\.ms/);
            assert.throws(() => one.inject({ kind: "http", status: 99 }), /Fault "http"\.status/);
            assert.throws(() => one.inject({ kind: "error", code: 1, message: "x", onCall: 0 }), /Fault "error"\.onCall/);
            assert.throws(() => one.inject({ kind: "reset", times: 0 }), /Fault "reset"\.times/);
            await assert.rejects(OneDouble.start({ vnetCreateMs: Number.NaN }), /DoubleOptions\.vnetCreateMs/);
        });

        it("counts calls per method and in total, faulted ones included", async () => {
            one.inject({ kind: "reset", method: "one.cluster.info" });
            await rpc.ok("one.system.version");
            await assert.rejects(rpc.send("one.cluster.info", int(0)));
            await rpc.ok("one.cluster.info", int(0));
            assert.strictEqual(one.calls(), 3);
            assert.strictEqual(one.calls("one.cluster.info"), 2);
            assert.deepStrictEqual(one.callLog(), ["one.system.version", "one.cluster.info", "one.cluster.info"]);
            one.resetCounts();
            assert.strictEqual(one.calls(), 0);
        });
    });
});
