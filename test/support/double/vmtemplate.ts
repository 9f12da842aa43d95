/**
 * `one.template.*` and `one.templatepool.info`. Instantiation creates a VM from the template merged
 * with the caller's extra template (per-name replace), through the same path as every VM
 * (vm.ts). Templates with VROUTER="YES" can only be instantiated through `one.vrouter.instantiate`.
 */
import { ErrorCode, Invalid, OneFailure, action, internal } from "./errors";
import { deleteImage, extendedDisk } from "./image";
import type { VmObject, VmTemplateObject } from "./objects";
import type { MethodTable } from "./methods";
import { filteredPoolInfo, parseAllocateTemplate, renameMethod, updateMethod } from "./methods";
import { nameError } from "./names";
import type { Params } from "./params";
import { OneTemplate, TemplateParseError } from "./template";
import { createVm } from "./vm";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, ownerXml, permissionsXml } from "./xml";

/** Registers the VM template methods. */
export function registerVmTemplateMethods(world: World, methods: MethodTable): void {
    const pool = world.vmtemplates;
    methods.define("one.template.allocate", (params) => allocate(world, params));
    methods.define("one.template.delete", (params) => remove(world, params.int(1), params.optionalBoolean(2, false)));
    methods.define("one.template.info", (params) => {
        const id = params.int(1);
        const extended = params.optionalBoolean(2, false);
        params.optionalBoolean(3, false);
        const t = pool.get(id);
        return vmTemplateXml(t, extended ? extendedTemplate(world, t.template) : t.template);
    });
    methods.define("one.template.update", updateMethod(pool));
    methods.define("one.template.rename", renameMethod(pool));
    methods.define("one.template.instantiate", (params) => instantiate(world, params));
    methods.define(
        "one.templatepool.info",
        filteredPoolInfo("VMTEMPLATE_POOL", pool, (t) => vmTemplateXml(t, t.template)),
    );
}

/** `<VMTEMPLATE>` in `VMTemplate::to_xml` order, with `template` as its TEMPLATE. */
export function vmTemplateXml(t: VmTemplateObject, template: OneTemplate): string {
    return element(
        "VMTEMPLATE",
        element("ID", t.id) +
            ownerXml() +
            element("NAME", t.name) +
            permissionsXml(OWNER_USE_MANAGE) +
            element("REGTIME", t.regtime) +
            template.toXml(),
    );
}

/** `info(id, extended=true)`: DISKs show the attributes of the images they name. */
function extendedTemplate(world: World, template: OneTemplate): OneTemplate {
    const copy = template.clone();
    const disks = copy.remove("DISK");
    for (const disk of disks) copy.add("DISK", extendedDisk(world, disk));
    return copy;
}

/** `VMTemplatePool::allocate`: name valid and unique (INTERNAL), then stored without NAME. */
function allocate(world: World, params: Params): number {
    const template = parseAllocateTemplate(params.string(1));
    const name = template.getOrEmpty("NAME");
    const invalid = nameError(name);
    if (invalid) throw internal(invalid);
    world.vmtemplates.assertNameFree(name);
    template.erase("NAME");
    const id = world.vmtemplates.peekNextId();
    world.vmtemplates.insert({ id, name, builtin: false, regtime: Math.floor(Date.now() / 1000), template });
    return id;
}

/**
 * `TemplateDelete::drop`: the template goes; with `recursive` the images its DISKs name are deleted
 * too — one that cannot be deleted is left alone, and the call still succeeds.
 */
function remove(world: World, id: number, recursive: boolean): number {
    const t = world.vmtemplates.get(id);
    world.vmtemplates.remove(id);
    if (!recursive) return id;
    for (const disk of t.template.vectors("DISK")) {
        const image =
            disk.IMAGE_ID !== undefined
                ? world.images.find(parseInt(disk.IMAGE_ID, 10))
                : disk.IMAGE !== undefined
                  ? world.images.byName(disk.IMAGE)
                  : undefined;
        if (!image) continue;
        try {
            deleteImage(world, image.id);
        } catch (err) {
            if (!(err instanceof OneFailure)) throw err;
        }
    }
    return id;
}

/**
 * `one.template.instantiate(id, name, [hold, extra], [persistent])` → new VM ID. Allocation problems
 * (bad CPU/MEMORY, no lease, missing image, incompatible clusters…) are ALLOCATE (16384)
 * "Error allocating a new virtual machine template. <reason>".
 */
function instantiate(world: World, params: Params): number {
    const id = params.int(1);
    const name = params.string(2);
    const hold = params.size > 3 ? params.boolean(3) : false;
    const extra = params.size > 3 ? params.string(4) : "";
    const persistent = params.size > 5 ? params.boolean(5) : false;
    const t = world.vmtemplates.get(id);
    if (t.template.getBoolean("VROUTER")) throw action("Virtual router templates cannot be instantiated");
    if (persistent)
        throw action("The test double does not implement persistent instantiation (a private template copy with cloned images)");
    try {
        return instantiateTemplate(world, id, name, hold, extra).id;
    } catch (err) {
        if (err instanceof Invalid)
            throw new OneFailure(ErrorCode.ALLOCATE, `Error allocating a new virtual machine template. ${err.message}`);
        throw err;
    }
}

/**
 * `VMTemplateInstantiate::request_execute`: the template, merged with `extra` (per-name replace) and
 * then with `attributes` (what a virtual router adds), named `name` (or "<template>-<vm id>"), with
 * TEMPLATE_NAME/TEMPLATE_ID recorded, becomes a VM.
 * @throws OneFailure NO_EXISTS for an unknown template, INTERNAL for an `extra` that does not parse;
 *   Invalid when the VM cannot be created.
 */
export function instantiateTemplate(
    world: World,
    id: number,
    name: string,
    hold: boolean,
    extra: string,
    attributes?: OneTemplate,
): VmObject {
    const source = world.vmtemplates.get(id);
    const template = source.template.clone();
    template.merge(parseExtra(extra));
    if (attributes) template.merge(attributes);
    template.remove("NAME");
    template.remove("TEMPLATE_NAME");
    template.remove("TEMPLATE_ID");
    template.add("TEMPLATE_NAME", source.name);
    template.add("TEMPLATE_ID", String(id));
    if (name !== "") template.add("NAME", name);
    return createVm(world, template, hold);
}

function parseExtra(text: string): OneTemplate {
    try {
        return OneTemplate.parse(text);
    } catch (err) {
        if (err instanceof TemplateParseError) throw internal(err.message);
        throw err;
    }
}
