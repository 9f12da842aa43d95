// Tests of the OpenNebula double's images, marketplace apps and VM templates, over raw XML-RPC.
import * as assert from "assert";
import { OneDouble } from "../support/one-double";
import { OneTemplate } from "../support/double/template";
import { Raw, bool, infoParser, int, str, waitFor } from "../support/raw-rpc";

const DATABLOCK = (name: string, extra = "") => `NAME = "${name}"\nTYPE = "DATABLOCK"\nSIZE = "1024"\n${extra}`;

describe("OneDouble images, marketplace apps and VM templates", function () {
    this.timeout(10000);
    let one: OneDouble;
    let rpc: Raw;

    beforeEach(async () => {
        one = await OneDouble.start({ imageReadyMs: 200, imageDeleteMs: 150, vmDeployMs: 40, vmActionMs: 30, vnetCreateMs: 30 });
        rpc = new Raw(one);
    });
    afterEach(async () => {
        await one.stop();
    });

    const imageState = async (id: number) => (await rpc.info("image", id)).IMAGE.STATE as string;
    const waitImageReady = (id: number) => waitFor(async () => (await imageState(id)) === "1", `image ${id} READY`);
    const vmState = async (id: number) => {
        const vm = (await rpc.info("vm", id)).VM;
        return `${vm.STATE}/${vm.LCM_STATE}`;
    };
    const decode64 = (text: string) => OneTemplate.parse(Buffer.from(text, "base64").toString("utf8"));

    describe("images", () => {
        it("are LOCKED while the driver copies, then READY with a SOURCE in their datastore, listed in its IMAGES and the pool", async () => {
            const id = await rpc.id("one.image.allocate", str(DATABLOCK("data")), int(1));
            assert.strictEqual(id, 0);
            let image = (await rpc.info("image", id)).IMAGE;
            assert.strictEqual(image.STATE, "4");
            assert.strictEqual(image.SOURCE, "");
            assert.strictEqual(image.TYPE, "2");
            assert.strictEqual(image.FORMAT, "raw", "mkfs images default to raw");
            assert.strictEqual(image.SIZE, "1024");
            assert.strictEqual(image.DATASTORE_ID, "1");
            assert.strictEqual(image.DATASTORE, "default");
            assert.strictEqual(image.TEMPLATE.DEV_PREFIX, "sd");
            assert.strictEqual(image.TEMPLATE.NAME, undefined);
            await waitImageReady(id);
            image = (await rpc.info("image", id)).IMAGE;
            assert.match(image.SOURCE, /^\/var\/lib\/one\/\/datastores\/1\/[0-9a-f]{32}$/);
            assert.deepStrictEqual((await rpc.info("datastore", 1)).DATASTORE.IMAGES.ID, ["0"]);
            const pool = await rpc.pool("one.imagepool.info", int(-2), int(-1), int(-1));
            assert.deepStrictEqual(
                pool.map((i) => i.NAME),
                ["data"],
            );
        });

        it("keep datastores with images from being deleted", async () => {
            const ds = await rpc.id("one.datastore.allocate", str('NAME = "img"\nDS_MAD = "fs"\nTM_MAD = "ssh"'), int(-1));
            const id = await rpc.id("one.image.allocate", str(DATABLOCK("data")), int(ds));
            assert.deepStrictEqual(await rpc.fail("one.datastore.delete", int(ds)), {
                message: `[one.datastore.delete] Cannot delete datastore. Datastore ${ds} is not empty.`,
                code: 2048,
                objectId: -1,
            });
            await waitImageReady(id);
            await rpc.id("one.image.delete", int(id));
            await waitFor(async () => !(await rpc.exists("image", id)), "the image to go");
            assert.strictEqual(await rpc.id("one.datastore.delete", int(ds)), ds);
        });

        it("have names unique per owner; allocation failures are ALLOCATE and consume no ID", async () => {
            await rpc.id("one.image.allocate", str(DATABLOCK("data")), int(1));
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str(DATABLOCK("data")), int(1)), {
                message: "[one.image.allocate] Error allocating a new image. NAME is already taken by IMAGE 0.",
                code: 16384,
                objectId: -1,
            });
            assert.strictEqual(
                (await rpc.fail("one.image.allocate", str(DATABLOCK("")), int(1))).message,
                "[one.image.allocate] Error allocating a new image. Invalid NAME, it cannot be empty",
            );
            assert.strictEqual(
                (await rpc.fail("one.image.allocate", str('NAME = "s"\nSOURCE = "/x"\nSIZE = "1"'), int(1))).message,
                "[one.image.allocate] Error allocating a new image. SOURCE needs FORMAT to be set.",
            );
            assert.strictEqual(await rpc.id("one.image.allocate", str(DATABLOCK("other")), int(1)), 1);
        });

        it("need an existing IMAGE_DS, or a FILE_DS for KERNEL, RAMDISK and CONTEXT", async () => {
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str(DATABLOCK("a")), int(99)), {
                message: "[one.image.allocate] Error getting datastore [99].",
                code: 1024,
                objectId: 99,
            });
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str(DATABLOCK("a")), int(0)), {
                message:
                    "[one.image.allocate] Error allocating a new image. New images can only be allocated in a files or image datastore.",
                code: 16384,
                objectId: -1,
            });
            assert.strictEqual(
                (await rpc.fail("one.image.allocate", str(DATABLOCK("a")), int(2))).message,
                "[one.image.allocate] Error allocating a new image. Only IMAGES of type KERNEL, RAMDISK and CONTEXT can be registered in a FILE_DS datastore",
            );
            const context = 'NAME = "ctx"\nTYPE = "CONTEXT"\nPATH = "/var/tmp/init.sh"';
            assert.strictEqual(
                (await rpc.fail("one.image.allocate", str(context), int(1))).message,
                "[one.image.allocate] Error allocating a new image. IMAGES of type KERNEL, RAMDISK and CONTEXT cannot be registered in an IMAGE_DS datastore",
            );
            const ctx = await rpc.id("one.image.allocate", str(context), int(2));
            const image = (await rpc.info("image", ctx)).IMAGE;
            assert.strictEqual(image.TYPE, "5");
            assert.strictEqual(image.PERSISTENT, "0");
            assert.strictEqual(image.TEMPLATE.DEV_PREFIX, undefined, "files have no DEV_PREFIX");
        });

        it("report what the size cannot be read from as INTERNAL 'Cannot parse image SIZE'", async () => {
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str('NAME = "d"\nTYPE = "DATABLOCK"'), int(1)), {
                message: "[one.image.allocate] Cannot parse image SIZE: Wrong number or missing SIZE attribute.",
                code: 8192,
                objectId: -1,
            });
            assert.strictEqual(
                (await rpc.fail("one.image.allocate", str('NAME = "c"\nTYPE = "cdrom"'), int(1))).message,
                "[one.image.allocate] Cannot parse image SIZE: Either PATH or SOURCE are required for CDROM",
            );
            const fromPath = await rpc.id("one.image.allocate", str('NAME = "p"\nPATH = "/var/tmp/disk.qcow2"'), int(1));
            await waitImageReady(fromPath);
            const image = (await rpc.info("image", fromPath)).IMAGE;
            assert.strictEqual(image.SIZE, "256", "what the double's driver measures for a PATH");
            assert.strictEqual(image.FORMAT, "qcow2");
            assert.strictEqual(image.PATH, "/var/tmp/disk.qcow2");
        });

        it("check LIMIT_MB capacity unless no_capacity_check is set", async () => {
            const ds = await rpc.id(
                "one.datastore.allocate",
                str('NAME = "small"\nDS_MAD = "fs"\nTM_MAD = "ssh"\nLIMIT_MB = "1500"'),
                int(-1),
            );
            await rpc.id("one.image.allocate", str(DATABLOCK("a")), int(ds));
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str(DATABLOCK("b")), int(ds)), {
                message: "[one.image.allocate] Not enough space in datastore",
                code: 2048,
                objectId: -1,
            });
            assert.strictEqual(await rpc.id("one.image.allocate", str(DATABLOCK("b")), int(ds), bool(true)), 1);
        });

        it("copy a marketplace app with FROM_APP: its SOURCE becomes PATH, its size and format are kept", async () => {
            const app = (await rpc.info("marketapp", 1)).MARKETPLACEAPP;
            const text = `${Buffer.from(app.APPTEMPLATE64, "base64").toString()}NAME = "alpine"\nFROM_APP = "1"`;
            const id = await rpc.id("one.image.allocate", str(text), int(1));
            let image = (await rpc.info("image", id)).IMAGE;
            assert.strictEqual(image.STATE, "4");
            assert.strictEqual(image.PATH, app.SOURCE);
            assert.strictEqual(image.SIZE, app.SIZE);
            assert.strictEqual(image.TEMPLATE.FROM_APP, "1");
            assert.strictEqual(image.TEMPLATE.FROM_APP_NAME, "Alpine Linux 3.17");
            assert.strictEqual(image.TEMPLATE.FROM_APP_MD5, app.MD5);
            assert.strictEqual(image.TEMPLATE.DRIVER, undefined, "DRIVER is never taken from the template");
            assert.strictEqual(image.TEMPLATE.DEV_PREFIX, "vd");
            await waitImageReady(id);
            image = (await rpc.info("image", id)).IMAGE;
            assert.strictEqual(image.FORMAT, "qcow2");
            assert.match(image.SOURCE, /^\/var\/lib\/one\/\/datastores\/1\//);
            assert.deepStrictEqual(await rpc.fail("one.image.allocate", str('NAME = "x"\nFROM_APP = "42"'), int(1)), {
                message: "[one.image.allocate] Cannot determine image SIZE.",
                code: 8192,
                objectId: -1,
            });
        });

        it("delete asynchronously (DELETE, then gone); an image still being copied goes at once", async () => {
            const locked = await rpc.id("one.image.allocate", str(DATABLOCK("locked")), int(1));
            assert.strictEqual(await rpc.id("one.image.delete", int(locked)), locked);
            assert.strictEqual(await rpc.exists("image", locked), false);
            const ready = await rpc.id("one.image.allocate", str(DATABLOCK("ready")), int(1));
            await waitImageReady(ready);
            await rpc.id("one.image.delete", int(ready), bool(false));
            assert.strictEqual(await imageState(ready), "7");
            await waitFor(async () => !(await rpc.exists("image", ready)), "the image to go");
            assert.deepStrictEqual(await rpc.fail("one.image.delete", int(ready)), {
                message: `[one.image.delete] Error getting image [${ready}].`,
                code: 1024,
                objectId: ready,
            });
            assert.strictEqual((await rpc.info("datastore", 1)).DATASTORE.IMAGES, "");
        });

        it("update (replace by default, merge with 1) and rename with collisions refused", async () => {
            const a = await rpc.id("one.image.allocate", str(DATABLOCK("a", 'DESCRIPTION = "one"\n')), int(1));
            await rpc.id("one.image.allocate", str(DATABLOCK("b")), int(1));
            await rpc.id("one.image.update", int(a), str('LABEL = "x"'), int(1));
            let t = (await rpc.info("image", a)).IMAGE.TEMPLATE;
            assert.strictEqual(t.DESCRIPTION, "one");
            assert.strictEqual(t.LABEL, "x");
            await rpc.id("one.image.update", int(a), str('LABEL = "y"'));
            t = (await rpc.info("image", a)).IMAGE.TEMPLATE;
            assert.deepStrictEqual(Object.keys(t), ["LABEL"]);
            assert.deepStrictEqual(await rpc.fail("one.image.rename", int(a), str("b")), {
                message: "[one.image.rename] image cannot be renamed to b because it collides with image 1",
                code: 2048,
                objectId: -1,
            });
            await rpc.id("one.image.rename", int(a), str("c"));
            assert.strictEqual((await rpc.info("image", a)).IMAGE.NAME, "c");
        });

        it("are USED while a VM's DISK uses them, refuse deletion, and are READY again when the VM is done", async () => {
            const img = await rpc.id("one.image.allocate", str(DATABLOCK("os")), int(1));
            await waitImageReady(img);
            const tmpl = await rpc.id(
                "one.template.allocate",
                str(`NAME = "t"\nCPU = "1"\nMEMORY = "128"\nDISK = [ IMAGE_ID = "${img}" ]`),
            );
            const vm = await rpc.id("one.template.instantiate", int(tmpl), str(""), bool(false), str(""));
            let image = (await rpc.info("image", img)).IMAGE;
            assert.strictEqual(image.STATE, "2");
            assert.strictEqual(image.RUNNING_VMS, "1");
            assert.deepStrictEqual(image.VMS.ID, [String(vm)]);
            assert.deepStrictEqual(await rpc.fail("one.image.delete", int(img)), {
                message: "[one.image.delete] Cannot delete image. There are 1 VMs using it.",
                code: 2048,
                objectId: -1,
            });
            const disk = (await rpc.info("vm", vm)).VM.TEMPLATE.DISK[0];
            assert.strictEqual(disk.IMAGE, "os");
            assert.strictEqual(disk.DISK_ID, "0");
            assert.strictEqual(disk.SOURCE, image.SOURCE);
            assert.strictEqual(disk.TARGET, "sda");
            await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
            await rpc.id("one.vm.action", str("terminate-hard"), int(vm));
            await waitFor(async () => (await vmState(vm)) === "6/0", "DONE");
            image = (await rpc.info("image", img)).IMAGE;
            assert.strictEqual(image.STATE, "1");
            assert.strictEqual(image.VMS, "");
            assert.strictEqual(await rpc.id("one.image.delete", int(img)), img);
        });

        it("keep a VM in CLONING while its image is LOCKED, then let it go PENDING and RUNNING", async () => {
            const img = await rpc.id("one.image.allocate", str(DATABLOCK("os")), int(1));
            const tmpl = await rpc.id("one.template.allocate", str(`NAME = "t"\nCPU = "1"\nMEMORY = "128"\nDISK = [ IMAGE = "os" ]`));
            const vm = await rpc.id("one.template.instantiate", int(tmpl), str("waiting"), bool(false), str(""));
            assert.strictEqual(await vmState(vm), "10/0");
            assert.strictEqual(await imageState(img), "9", "LOCKED_USED");
            await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
            assert.strictEqual(await imageState(img), "2");
            const disk = (await rpc.info("vm", vm)).VM.TEMPLATE.DISK[0];
            assert.notStrictEqual(disk.SOURCE, "");
            assert.strictEqual(disk.CLONING, undefined);
        });
    });

    describe("marketplace apps", () => {
        it("list the public marketplace's READY apps with their image and VM templates", async () => {
            const apps = await rpc.pool("one.marketapppool.info", int(-2), int(-1), int(-1));
            assert.deepStrictEqual(
                apps.map((a) => [a.ID, a.NAME, a.STATE, a.TYPE, a.MARKETPLACE_ID, a.MARKETPLACE]),
                [
                    ["0", "Alpine Linux 3.13", "1", "1", "0", "OpenNebula Public"],
                    ["1", "Alpine Linux 3.17", "1", "1", "0", "OpenNebula Public"],
                    ["2", "Service Virtual Router", "1", "1", "0", "OpenNebula Public"],
                ],
            );
            for (const app of apps) {
                assert.strictEqual(decode64(app.APPTEMPLATE64).get("TYPE"), "OS");
                const vm = decode64(app.TEMPLATE.VMTEMPLATE64);
                assert.match(vm.getOrEmpty("CPU"), /^\d+$/);
                assert.match(vm.getOrEmpty("MEMORY"), /^\d+$/);
                assert.strictEqual(vm.vectors("CONTEXT")[0].NETWORK, "YES");
                assert.match(app.SOURCE, /^https:\/\/marketplace\.opennebula\.io\/\/appliance\/[0-9a-f-]+\/download\/0$/);
            }
        });

        it("offer a virtual router template with OneGate access in the Service Virtual Router app", async () => {
            const app = (await rpc.info("marketapp", 2)).MARKETPLACEAPP;
            assert.strictEqual(app.NAME, "Service Virtual Router");
            const vm = decode64(app.TEMPLATE.VMTEMPLATE64);
            assert.strictEqual(vm.get("VROUTER"), "YES");
            assert.strictEqual(vm.vectors("CONTEXT")[0].TOKEN, "YES");
            assert.strictEqual(vm.vectors("CONTEXT")[0].NETWORK, "YES");
            assert.strictEqual(decode64((await rpc.info("marketapp", 0)).MARKETPLACEAPP.TEMPLATE.VMTEMPLATE64).get("VROUTER"), undefined);
        });

        it("answer unknown apps with NO_EXISTS, and have no export method (export is client-side)", async () => {
            assert.deepStrictEqual(await rpc.fail("one.marketapp.info", int(9)), {
                message: "[one.marketapp.info] Error getting marketplaceapp [9].",
                code: 1024,
                objectId: 9,
            });
            assert.strictEqual((await rpc.fault("one.marketapp.export", int(2))).code, -506);
            assert.deepStrictEqual(
                one
                    .objects()
                    .filter((o) => o.kind === "marketapp")
                    .map((o) => o.builtin),
                [true, true, true],
            );
        });
    });

    describe("VM templates", () => {
        it("allocate with unique names (INTERNAL on collision), info, update, rename, pool and delete", async () => {
            const id = await rpc.id("one.template.allocate", str('NAME = "small"\nCPU = "1"\nMEMORY = "256"'));
            assert.deepStrictEqual(await rpc.fail("one.template.allocate", str('NAME = "small"')), {
                message: "[one.template.allocate] NAME is already taken by TEMPLATE 0.",
                code: 8192,
                objectId: -1,
            });
            let t = (await rpc.info("template", id)).VMTEMPLATE;
            assert.strictEqual(t.NAME, "small");
            assert.deepStrictEqual(t.TEMPLATE, { CPU: "1", MEMORY: "256" });
            await rpc.id("one.template.update", int(id), str('MEMORY = "512"'), int(1));
            t = (await rpc.info("template", id)).VMTEMPLATE;
            assert.deepStrictEqual(t.TEMPLATE, { CPU: "1", MEMORY: "512" });
            await rpc.id("one.template.rename", int(id), str("medium"));
            const pool = await rpc.pool("one.templatepool.info", int(-2), int(-1), int(-1));
            assert.deepStrictEqual(
                pool.map((p) => p.NAME),
                ["medium"],
            );
            assert.strictEqual(await rpc.id("one.template.delete", int(id)), id);
            assert.strictEqual(await rpc.exists("template", id), false);
            assert.deepStrictEqual(await rpc.fail("one.template.info", int(id)), {
                message: `[one.template.info] Error getting virtual machine template [${id}].`,
                code: 1024,
                objectId: id,
            });
        });

        it("show image attributes in DISKs with info extended, and delete DISK images with recursive delete", async () => {
            const img = await rpc.id("one.image.allocate", str(DATABLOCK("os")), int(1));
            await waitImageReady(img);
            const id = await rpc.id("one.template.allocate", str(`NAME = "t"\nCPU = "1"\nMEMORY = "128"\nDISK = [ IMAGE_ID = "${img}" ]`));
            assert.deepStrictEqual((await rpc.info("template", id)).VMTEMPLATE.TEMPLATE.DISK, [{ IMAGE_ID: String(img) }]);
            const extended = infoParser.parse(await rpc.ok("one.template.info", int(id), bool(true)));
            assert.strictEqual(extended.VMTEMPLATE.TEMPLATE.DISK[0].IMAGE, "os");
            assert.strictEqual(extended.VMTEMPLATE.TEMPLATE.DISK[0].DATASTORE_ID, "1");
            assert.strictEqual(await rpc.id("one.template.delete", int(id), bool(true)), id);
            assert.strictEqual(await imageState(img), "7", "the image is being deleted");
        });

        it("instantiate a VM from the template merged with extra (per-name replace)", async () => {
            const id = await rpc.id(
                "one.template.allocate",
                str('NAME = "web"\nCPU = "1"\nMEMORY = "256"\nCONTEXT = [ NETWORK = "YES", A = "1" ]\nLABELS = "x"'),
            );
            const vm = await rpc.id(
                "one.template.instantiate",
                int(id),
                str("web-1"),
                bool(false),
                str('MEMORY = "1024"\nCONTEXT = [ TOKEN = "YES" ]'),
                bool(false),
            );
            const info = (await rpc.info("vm", vm)).VM;
            assert.strictEqual(info.NAME, "web-1");
            assert.strictEqual(info.STATE, "1");
            assert.strictEqual(info.TEMPLATE.MEMORY, "1024");
            assert.strictEqual(info.TEMPLATE.CPU, "1");
            assert.deepStrictEqual(info.TEMPLATE.CONTEXT, { TOKEN: "YES" }, "CONTEXT replaced as a whole and kept as given");
            assert.strictEqual(info.TEMPLATE.TEMPLATE_ID, String(id));
            assert.strictEqual(info.USER_TEMPLATE.LABELS, "x");
            const unnamed = await rpc.id("one.template.instantiate", int(id), str(""));
            assert.strictEqual((await rpc.info("vm", unnamed)).VM.NAME, `web-${unnamed}`);
            const held = await rpc.id("one.template.instantiate", int(id), str("held"), bool(true), str(""));
            assert.strictEqual(await vmState(held), "2/0");
            await waitFor(async () => (await vmState(vm)) === "3/3", "RUNNING");
            assert.strictEqual(await vmState(held), "2/0", "a held VM waits for release");
        });

        it("refuse virtual router templates and report bad VM templates as ALLOCATE", async () => {
            const vr = await rpc.id("one.template.allocate", str('NAME = "vr"\nCPU = "1"\nMEMORY = "256"\nVROUTER = "yes"'));
            assert.deepStrictEqual(await rpc.fail("one.template.instantiate", int(vr), str(""), bool(false), str("")), {
                message: "[one.template.instantiate] Virtual router templates cannot be instantiated",
                code: 2048,
                objectId: -1,
            });
            const bad = await rpc.id("one.template.allocate", str('NAME = "bad"\nCPU = "1"'));
            assert.deepStrictEqual(await rpc.fail("one.template.instantiate", int(bad), str(""), bool(false), str("")), {
                message:
                    "[one.template.instantiate] Error allocating a new virtual machine template. MEMORY attribute must be a positive integer value.",
                code: 16384,
                objectId: -1,
            });
            assert.strictEqual(
                (
                    await rpc.fail(
                        "one.template.instantiate",
                        int(bad),
                        str(""),
                        bool(false),
                        str('MEMORY = "64"\nDISK = [ IMAGE_ID = "7" ]'),
                    )
                ).message,
                "[one.template.instantiate] Error allocating a new virtual machine template. DISK 0: Image with ID: 7 does not exist",
            );
            assert.strictEqual(one.objects().filter((o) => o.kind === "vm").length, 0);
        });
    });
});
