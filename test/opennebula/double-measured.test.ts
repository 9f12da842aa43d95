// The test double against what real oned 6.10.5 and 7.0.2 were measured to do (reference
// "Measured on real front-ends"), over raw HTTP without the package's client.
import * as assert from "assert";
import { OneDouble } from "../support/one-double";
import { Raw, int, post, callXml, decode, str, waitFor } from "../support/raw-rpc";

describe("OneDouble answers as real oned was measured to", function () {
    this.timeout(10000);
    let one: OneDouble;
    let rpc: Raw;
    const start = async (version: string, options: Parameters<typeof OneDouble.start>[0] = {}) => {
        await one?.stop();
        one = await OneDouble.start({ vnetCreateMs: 20, vnetDeleteMs: 20, hostMonitorMs: 20, vmDeployMs: 20, ...options, version });
        rpc = new Raw(one);
    };
    afterEach(async () => {
        await one?.stop();
    });

    describe("]]> in a template value (sent in the template's XML form, where it can be written)", function () {
        beforeEach(() => start("6.10.5"));
        const xml = (attributes: string) => `<TEMPLATE>${attributes}<NOTE>a]]&gt;b</NOTE></TEMPLATE>`;

        for (const [method, object, template, cluster] of [
            ["one.datastore.allocate", "Datastore", xml("<NAME>ds</NAME><TYPE>SYSTEM_DS</TYPE><TM_MAD>ssh</TM_MAD>"), true],
            ["one.vn.allocate", "Virtual Network", xml("<NAME>net</NAME><VN_MAD>bridge</VN_MAD>"), true],
            ["one.vntemplate.allocate", "Virtual Network Template", xml("<NAME>t</NAME><VN_MAD>bridge</VN_MAD>"), false],
        ] as const) {
            it(`${method} refuses it with INTERNAL "Error transforming the ${object} to XML."`, async function () {
                const failure = await (cluster ? rpc.fail(method, str(template), int(-1)) : rpc.fail(method, str(template)));
                assert.deepStrictEqual([failure.message, failure.code], [`[${method}] Error transforming the ${object} to XML.`, 8192]);
                assert.deepStrictEqual(
                    one.objects().filter((o) => !o.builtin),
                    [],
                    "nothing was created",
                );
            });
        }

        it("one.cluster.update and one.host.update answer success but store nothing of that update", async function () {
            const cluster = await rpc.id("one.cluster.allocate", str("c"));
            const host = await rpc.id("one.host.allocate", str("h1"), str("kvm"), str("kvm"), int(-1));
            for (const [kind, id] of [
                ["cluster", cluster],
                ["host", host],
            ] as const) {
                await rpc.ok(`one.${kind}.update`, int(id), str('KEPT = "yes"'), int(1));
                assert.strictEqual(
                    await rpc.id(`one.${kind}.update`, int(id), str("<TEMPLATE><NOTE>a]]&gt;b</NOTE><OTHER>x</OTHER></TEMPLATE>"), int(1)),
                    id,
                    "success, with the id",
                );
                const template = (await rpc.info(kind, id))[kind.toUpperCase()].TEMPLATE;
                assert.strictEqual(template.KEPT, "yes");
                assert.deepStrictEqual(
                    [template.NOTE, template.OTHER],
                    [undefined, undefined],
                    "nothing of the update was stored, not even OTHER",
                );
            }
        });
    });

    it("refuses a whole call carrying a character outside the Basic Multilingual Plane with fault -503; other non-ASCII text is stored", async function () {
        await start("7.0.2");
        const fault = await rpc.fault("one.cluster.allocate", str("edge-\u{1F600}"));
        assert.deepStrictEqual(fault, { code: -503, message: "UTF-8 string contains a character not in the Basic Multilingual Plane" });
        assert.deepStrictEqual(
            one.objects().filter((o) => !o.builtin),
            [],
        );
        const id = await rpc.id("one.cluster.allocate", str("c"));
        await rpc.ok("one.cluster.update", int(id), str('NOTE = "café 日本語"'), int(1));
        assert.strictEqual((await rpc.info("cluster", id)).CLUSTER.TEMPLATE.NOTE, "café 日本語");
    });

    it("puts a host whose monitoring fails after an enable in ERROR until it is enabled again (injected)", async function () {
        await start("7.0.2");
        one.failHostMonitoring(1);
        const id = await rpc.id("one.host.allocate", str("node-1"), str("kvm"), str("kvm"), int(-1));
        await waitFor(async () => (await rpc.info("host", id)).HOST.STATE === "3", "ERROR");
        const host = (await rpc.info("host", id)).HOST;
        assert.match(host.TEMPLATE.ERROR, new RegExp(`Error monitoring Host node-1 \\(${id}\\): $`));
        await new Promise((resolve) => setTimeout(resolve, 60));
        assert.strictEqual((await rpc.info("host", id)).HOST.STATE, "3", "it stays in ERROR by itself");
        await rpc.ok("one.host.status", int(id), int(0));
        await waitFor(async () => (await rpc.info("host", id)).HOST.STATE === "2", "MONITORED after the next enable");
        assert.throws(() => one.failHostMonitoring(0), /times must be an integer >= 1/);
    });

    describe("driver names per version", function () {
        const cases = [
            {
                what: "TM_MAD local",
                method: "one.datastore.allocate",
                template: 'NAME = "d"\nTYPE = "SYSTEM_DS"\nTM_MAD = "local"',
                refusedOn: "6.10.5",
                message: 'TM_MAD named "local" is not defined in oned.conf',
            },
            {
                what: "TM_MAD vcenter",
                method: "one.datastore.allocate",
                template: 'NAME = "d"\nTYPE = "SYSTEM_DS"\nTM_MAD = "vcenter"',
                refusedOn: "7.0.2",
                message: 'TM_MAD named "vcenter" is not defined in oned.conf',
            },
            {
                what: "DS_MAD vcenter",
                method: "one.datastore.allocate",
                refusedOn: "7.0.2",
                message: 'DS_MAD named "vcenter" is not defined in oned.conf',
                template:
                    'NAME = "d"\nDS_MAD = "vcenter"\nTM_MAD = "ssh"\nVCENTER_INSTANCE_ID = "i"\nVCENTER_DS_REF = "r"\nVCENTER_DC_REF = "c"',
            },
            {
                what: "VN_MAD ebtables",
                method: "one.vn.allocate",
                template: 'NAME = "n"\nVN_MAD = "ebtables"',
                refusedOn: "7.0.2",
                message: 'VN_MAD named "ebtables" is not defined in oned.conf',
            },
            {
                what: "VN_MAD vcenter",
                method: "one.vn.allocate",
                template: 'NAME = "n"\nVN_MAD = "vcenter"',
                refusedOn: "7.0.2",
                message: 'VN_MAD named "vcenter" is not defined in oned.conf',
            },
        ];
        for (const c of cases) {
            it(`${c.what}: refused on ${c.refusedOn} only`, async function () {
                for (const version of ["6.10.5", "7.0.2"]) {
                    await start(version);
                    const answer = await rpc.send(c.method, str(c.template), int(-1));
                    const refused = "values" in answer && answer.values[0].text === "0";
                    assert.strictEqual(refused, version === c.refusedOn, `${c.what} on ${version}`);
                    if (refused && "values" in answer) assert.strictEqual(answer.values[1].text, `[${c.method}] ${c.message}`);
                }
            });
        }
    });

    it("moves a new VM through PENDING (the scheduler), then PROLOG and BOOT over reads of one.vm.info, to RUNNING", async function () {
        await start("6.10.5", { vmPrologReads: 2, vmBootReads: 3 });
        const template = await rpc.id("one.template.allocate", str('NAME = "t"\nCPU = "1"\nMEMORY = "64"'));
        const vm = await rpc.id("one.template.instantiate", int(template), str("vm"), { boolean: false }, str(""), { boolean: false });
        const seen: string[] = [];
        const read = async () => {
            const info = (await rpc.info("vm", vm)).VM;
            seen.push(info.STATE === "3" ? `ACTIVE/${info.LCM_STATE}` : info.STATE);
        };
        await read();
        await new Promise((resolve) => setTimeout(resolve, 60));
        for (let i = 0; i < 6; i++) await read();
        assert.deepStrictEqual(
            seen,
            ["1", "ACTIVE/1", "ACTIVE/1", "ACTIVE/2", "ACTIVE/2", "ACTIVE/2", "ACTIVE/3"],
            "PENDING, PROLOG ×2, BOOT ×3, RUNNING",
        );
        await assert.rejects(OneDouble.start({ vmBootReads: -1 }), /DoubleOptions\.vmBootReads must be an integer >= 0/);
    });

    it("sends a virtual network's STATE in CDATA", async function () {
        await start("7.0.2");
        const id = await rpc.id("one.vn.allocate", str('NAME = "n"\nVN_MAD = "bridge"'), int(-1));
        const res = await post(one.endpoint, callXml("one.vn.info", [rpc.session, int(id)]));
        const body = (decode(res.body) as { values: { text: string }[] }).values[1].text;
        assert.match(body, /<STATE><!\[CDATA\[\d\]\]><\/STATE>/);
    });
});
