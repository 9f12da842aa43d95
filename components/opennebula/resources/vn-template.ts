import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import { VN_MAD_TABLE, requireDriversOnFrontEnd } from "../drivers";
import { CREATION_TOKEN, allocateOwn, creationTokenOf, requireObject, templateOf } from "../objects";
import { pickAttributes, renderTemplateXml } from "../template";
import type { XmlElement } from "../xml";
import { childText } from "../xml";
import { checkNetworkTemplate } from "./address-ranges";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { declaredAttributes, isUnknown, updateNameAndTemplate } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

/** Arguments of {@link VirtualNetworkTemplate}. */
export interface VirtualNetworkTemplateArgs extends OneResourceArgs {
    /** Template name, unique among the user's network templates. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Network driver (`VN_MAD`) of the networks instantiated from it. Changing it replaces the template. */
    vnMad: pulumi.Input<string>;
    /** Other attributes, e.g. `PHYDEV`, `VLAN_ID`, `CLUSTER_IDS`, `AR`. Only these are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
}

interface VnTemplateInputs extends NamedInputs {
    vnMad: string;
}

type VnTemplateOutputs = VnTemplateInputs & CommonOutputs;

function checkVnTemplate(news: Record<string, unknown>, failures: Failures): VnTemplateInputs {
    const inputs: VnTemplateInputs = {
        name: news.name as string,
        vnMad: news.vnMad as string,
        template: failures.template("template", news.template),
    };
    failures.name("name", inputs.name);
    checkNetworkTemplate(failures, inputs.vnMad, inputs.template);
    if (!isUnknown(inputs.template) && ("VN_MAD" in inputs.template || "NAME" in inputs.template)) {
        failures.add("template", "template must not set VN_MAD or NAME; use the vnMad and name arguments");
    }
    return inputs;
}

/** The outputs as OpenNebula holds the template; `declared` undefined reads it as an import would. */
function vnTemplateOutputs(xml: XmlElement, declared: VnTemplateInputs | undefined): VnTemplateOutputs {
    const template = templateOf(xml);
    return {
        connection: declared?.connection,
        name: childText(xml, "NAME") ?? "",
        vnMad: String(template.VN_MAD ?? ""),
        template: declared ? pickAttributes(template, Object.keys(declared.template)) : declaredAttributes(template, { VN_MAD: null }),
        oneId: Number(childText(xml, "ID")),
        creationToken: creationTokenOf(xml) ?? "",
    };
}

async function createVnTemplate(client: OneClient, inputs: VnTemplateInputs, token: string): Promise<VnTemplateOutputs> {
    await requireDriversOnFrontEnd(client, [[VN_MAD_TABLE, "vnMad", inputs.vnMad]]);
    const template = renderTemplateXml({ ...inputs.template, NAME: inputs.name, VN_MAD: inputs.vnMad, [CREATION_TOKEN]: token });
    const id = await allocateOwn(client, "vntemplate", inputs.name, [template], token);
    return { ...inputs, oneId: id, creationToken: token };
}

async function updateVnTemplate(
    client: OneClient,
    id: number,
    olds: VnTemplateOutputs,
    news: VnTemplateInputs,
): Promise<VnTemplateOutputs> {
    const current = await requireObject(client, "vntemplate", id);
    await updateNameAndTemplate(client, "vntemplate", id, current, olds, news);
    return { ...news, oneId: id, creationToken: olds.creationToken ?? "" };
}

const vnTemplate = defineResource<VirtualNetworkTemplateArgs, VnTemplateInputs, VnTemplateOutputs>({
    type: "VirtualNetworkTemplate",
    kind: "vntemplate",
    outputsOf: vnTemplateOutputs,
    inputs: ["name", "vnMad", "template"],
    replaceOn: ["vnMad"],
    outputs: ["oneId", "creationToken"],
    check: checkVnTemplate,
    create: createVnTemplate,
    update: (client, id, olds, news) => updateVnTemplate(client, Number(id), olds, news),
});

/** The dynamic provider behind {@link VirtualNetworkTemplate}. */
export const vnTemplateProvider = vnTemplate.provider;

/** An OpenNebula virtual network template (`one.vntemplate.*`), from which networks are instantiated. */
export class VirtualNetworkTemplate extends vnTemplate.Resource {}
