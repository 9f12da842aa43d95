import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import { allocateNamed, deleteObject, readObject, renameObject, requireObject, templateOf, updateTemplate } from "../objects";
import { Template, pickAttributes, renderTemplateXml } from "../template";
import { XmlElement, childText } from "../xml";
import { checkNetworkTemplate } from "./address-ranges";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, diffProperties, isUnknown, replaceDeclaredAttributes,
    withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** Arguments of {@link VirtualNetworkTemplate}. */
export interface VirtualNetworkTemplateArgs {
    /** Template name, unique among the user's network templates. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Network driver (`VN_MAD`) of the networks instantiated from it. Changing it replaces the template. */
    vnMad: pulumi.Input<string>;
    /** Other attributes, e.g. `PHYDEV`, `VLAN_ID`, `CLUSTER_IDS`, `AR`. Only these are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface VnTemplateInputs {
    name: string;
    vnMad: string;
    template: Template;
    connection?: ConnectionInputs;
}

type VnTemplateOutputs = VnTemplateInputs & CommonOutputs;

function checkVnTemplate(news: Record<string, unknown>): pulumi.dynamic.CheckResult<VnTemplateInputs> {
    const failures = new Failures();
    const inputs: VnTemplateInputs = {
        name: news.name as string,
        vnMad: news.vnMad as string,
        template: failures.template("template", news.template),
        connection: news.connection as ConnectionInputs | undefined,
    };
    failures.name("name", inputs.name);
    checkNetworkTemplate(failures, inputs.vnMad, inputs.template);
    if (!isUnknown(inputs.template) && ("VN_MAD" in inputs.template || "NAME" in inputs.template)) {
        failures.add("template", "template must not set VN_MAD or NAME; use the vnMad and name arguments");
    }
    failures.connection(news.connection);
    return { inputs, failures: failures.list };
}

function vnTemplateOutputs(xml: XmlElement, declared: VnTemplateInputs): VnTemplateOutputs {
    const template = templateOf(xml);
    return {
        ...declared,
        name: childText(xml, "NAME") ?? "",
        vnMad: String(template.VN_MAD ?? ""),
        template: pickAttributes(template, Object.keys(declared.template)),
        oneId: Number(childText(xml, "ID")),
    };
}

async function createVnTemplate(client: OneClient, inputs: VnTemplateInputs): Promise<VnTemplateOutputs> {
    const template = renderTemplateXml({ ...inputs.template, NAME: inputs.name, VN_MAD: inputs.vnMad });
    const id = await allocateNamed(client, "vntemplate", inputs.name, [template]);
    return { ...inputs, oneId: id };
}

async function updateVnTemplate(client: OneClient, id: number, olds: VnTemplateOutputs, news: VnTemplateInputs): Promise<VnTemplateOutputs> {
    const current = await requireObject(client, "vntemplate", id);
    if (childText(current, "NAME") !== news.name) await renameObject(client, "vntemplate", id, news.name);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, "vntemplate", id, template, "replace");
    return { ...news, oneId: id };
}

/** The dynamic provider behind {@link VirtualNetworkTemplate}. */
export const vnTemplateProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkVnTemplate(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, { replaceOn: ["vnMad"], updateOn: ["name", "template"] });
    },
    async create(inputs: VnTemplateInputs) {
        const outs = await withClient(inputs.connection, (client) => createVnTemplate(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: VnTemplateOutputs) {
        const xml = await withClient(props.connection, (client) => readObject(client, "vntemplate", Number(id)));
        return xml ? { id, props: vnTemplateOutputs(xml, props) } : { id: "", props: {} };
    },
    async update(id, olds: VnTemplateOutputs, news: VnTemplateInputs) {
        return { outs: await withClient(news.connection, (client) => updateVnTemplate(client, Number(id), olds, news)) };
    },
    async delete(id, props: VnTemplateOutputs) {
        await withClient(props.connection, (client) => deleteObject(client, "vntemplate", Number(id)));
    },
};

/** An OpenNebula virtual network template (`one.vntemplate.*`), from which networks are instantiated. */
export class VirtualNetworkTemplate extends pulumi.dynamic.Resource {
    /** The template's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    declare readonly template: pulumi.Output<Template>;

    constructor(name: string, args: VirtualNetworkTemplateArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, vnMad: args.vnMad, template: args.template ?? {}, connection: args.connection,
            oneId: undefined,
        };
        super(vnTemplateProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "VirtualNetworkTemplate");
    }
}
