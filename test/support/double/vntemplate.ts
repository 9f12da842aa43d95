/**
 * `one.vntemplate.*` and `one.vntemplatepool.info`. Instantiation creates a VNET through the same
 * path as `one.vn.allocate`, in the clusters listed by the template's CLUSTER_IDS (cluster 0 when
 * absent).
 */
import { ErrorCode, Invalid, OneFailure, internal } from "./errors";
import type { VnTemplateObject } from "./objects";
import type { MethodTable } from "./methods";
import { asInternal, filteredPoolInfo, infoMethod, parseAllocateTemplate, renameMethod, updateMethod } from "./methods";
import { nameError } from "./names";
import type { Params } from "./params";
import { OneTemplate, TemplateParseError } from "./template";
import { checkVnTemplateDriver, createVnet } from "./vnet";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, ownerXml, permissionsXml } from "./xml";

/** Registers the VNET template methods. */
export function registerVnTemplateMethods(world: World, methods: MethodTable): void {
    const pool = world.vntemplates;
    methods.define("one.vntemplate.allocate", (params) => allocate(world, params));
    methods.define("one.vntemplate.delete", (params) => {
        const id = params.int(1);
        pool.get(id);
        pool.remove(id);
        return id;
    });
    methods.define("one.vntemplate.info", infoMethod(pool, vnTemplateXml));
    methods.define("one.vntemplate.update", updateMethod(pool));
    methods.define("one.vntemplate.rename", renameMethod(pool));
    methods.define("one.vntemplate.instantiate", (params) => instantiate(world, params));
    methods.define("one.vntemplatepool.info", filteredPoolInfo("VNTEMPLATE_POOL", pool, vnTemplateXml));
}

/** `<VNTEMPLATE>` in §6 order. */
export function vnTemplateXml(t: VnTemplateObject): string {
    return element(
        "VNTEMPLATE",
        element("ID", t.id) +
            ownerXml() +
            element("NAME", t.name) +
            permissionsXml(OWNER_USE_MANAGE) +
            element("REGTIME", t.regtime) +
            t.template.toXml(),
    );
}

/** `VNTemplatePool::allocate` + `VNTemplate::insert`: name, uniqueness, VN_MAD, driver checks. */
function allocate(world: World, params: Params): number {
    const template = parseAllocateTemplate(params.string(1), "Virtual Network Template");
    const name = template.getOrEmpty("NAME");
    const invalid = nameError(name);
    if (invalid) throw internal(invalid);
    world.vntemplates.assertNameFree(name);
    template.erase("NAME");
    const vnMad = template.getOrEmpty("VN_MAD");
    if (vnMad === "") throw internal("Error inserting Template in DB. VN_MAD is mandatory");
    asInternal(() => checkVnTemplateDriver(template, vnMad));
    const id = world.vntemplates.peekNextId();
    world.vntemplates.insert({ id, name, builtin: false, regtime: Math.floor(Date.now() / 1000), template });
    return id;
}

/**
 * `one.vntemplate.instantiate(id, name, extra)`: the template merged with `extra` (per-name replace),
 * TEMPLATE_NAME/TEMPLATE_ID recorded, NAME from the argument (empty → "<template>-<vnet id>").
 * Allocation problems are ALLOCATE (16384) "Error allocating a new virtual network template. …".
 */
function instantiate(world: World, params: Params): number {
    const id = params.int(1);
    const name = params.string(2);
    const extraText = params.string(3);
    const source = world.vntemplates.get(id);
    const template = source.template.clone();
    const clusterIds = clustersOf(world, template.getOrEmpty("CLUSTER_IDS"));
    try {
        const extra = OneTemplate.parse(extraText);
        if (!extra.isEmpty) template.merge(extra);
    } catch (err) {
        if (err instanceof TemplateParseError) throw internal(err.message);
        throw err;
    }
    template.remove("NAME");
    template.replace("TEMPLATE_NAME", source.name);
    template.replace("TEMPLATE_ID", String(id));
    if (name !== "") template.add("NAME", name);
    try {
        return createVnet(world, template, clusterIds).id;
    } catch (err) {
        if (err instanceof Invalid || err instanceof OneFailure) {
            throw new OneFailure(ErrorCode.ALLOCATE, `Error allocating a new virtual network template. ${err.message}`);
        }
        throw err;
    }
}

/** CLUSTER_IDS as a comma list, keeping only clusters that exist; cluster 0 when the attribute is absent. */
function clustersOf(world: World, list: string): number[] {
    if (list === "") return [0];
    return list
        .split(",")
        .map((s) => Number(s.trim()))
        .filter((n) => Number.isInteger(n) && world.clusters.find(n) !== undefined);
}
