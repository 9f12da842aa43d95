/**
 * `EdgeVirtualRouter`: the seed's virtual router. OpenNebula's "Service Virtual Router" appliance
 * (exported from the marketplace, or an existing template), instantiated as a virtual router with
 * NIC 0 (`eth0`) on an edge cluster's public network and NIC 1 (`eth1`) on the first lease of the
 * EVPN private network — the private VMs' gateway. The appliance's context switches on routing and
 * SDNAT4 on `eth0 eth1`, with a OneGate token: the appliance then maps every public address leased
 * to a private VM as an external NIC alias to that VM's private address (reference §6.3).
 *
 * The mappings are realised on the VMs, not on the router (OpenNebula attaches NIC aliases to
 * workload VMs only): for each mapping the component hands out the NIC and NIC alias arguments the
 * VM needs ({@link EdgeVirtualRouter.vmNetworking}), to pass to `VirtualMachine`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MarketplaceAppArgs } from "../opennebula/resources/marketplace-app";
import { MarketplaceApp } from "../opennebula/resources/marketplace-app";
import type { ConnectionArgs } from "../opennebula/resources/provider-kit";
import type { TemplateArgs } from "../opennebula/resources/resource-options";
import type { VirtualMachineNicAliasArgs, VirtualMachineNicArgs } from "../opennebula/resources/virtual-machine";
import type { VirtualRouterArgs } from "../opennebula/resources/virtual-router";
import { VirtualRouter } from "../opennebula/resources/virtual-router";
import type { Transform } from "../transform";
import { createChild } from "../transform";
import { ConfigError } from "../validation";
import type { RouterPlan, RouterPlanArgs } from "./plan";
import { DEFAULT_APPLIANCE_APP, planEdgeVirtualRouter } from "./plan";

/** Type token of {@link EdgeVirtualRouter}. */
export const EDGE_VIRTUAL_ROUTER_TYPE = "opennebula-edge:router:EdgeVirtualRouter";

/** Arguments of {@link EdgeVirtualRouter}. Values that shape the plan ({@link RouterPlanArgs}) are plain and checked before anything is created. */
export interface EdgeVirtualRouterArgs extends RouterPlanArgs {
    /** More attributes of the router's VM, e.g. `{ SCHED_REQUIREMENTS: "ID = 3", MEMORY: 1024 }`. Default none. */
    vmTemplate?: pulumi.Input<TemplateArgs>;
    /** How long to wait for the router's VM to be RUNNING, in seconds. Default 600. */
    runningTimeoutSeconds?: pulumi.Input<number>;
    /** How to reach OpenNebula (kept secret). Default: `ONE_XMLRPC` and `ONE_AUTH` of the provider process. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Escape hatches: change the arguments or options of each kind of child before it is created. Default none. */
    transform?: {
        /** `${name}-appliance`: the marketplace export. */
        appliance?: Transform<MarketplaceAppArgs>;
        /** `${name}-vrouter`: the virtual router. */
        router?: Transform<VirtualRouterArgs>;
    };
}

/** The networking arguments of a private VM: what to pass to `VirtualMachine`. */
export interface RouterVmNetworking {
    /** NIC 0 on the private network at the VM's address. */
    nics: VirtualMachineNicArgs[];
    /** For a mapped VM: an external NIC alias of NIC 0 on the public network at its public address. */
    nicAliases: VirtualMachineNicAliasArgs[];
}

/**
 * The virtual router with SDNAT of the multi-edge scenario.
 *
 * @example
 * new EdgeVirtualRouter("router", {
 *     publicNetwork: { id: london.publicNetworkId, addresses: ["10.0.1.16", "10.0.1.17", "10.0.1.18", "10.0.1.19", "10.0.1.20"] },
 *     privateNetwork: { id: privateNet.networkIds.apply((ids) => ids["0"]), gateway: privateNet.gateway, subnet: "172.17.2.0/24" },
 *     appliance: { datastoreId: london.datastoreIds.apply((ds) => ds.image!) },
 *     mappings: [{ privateIp: "172.17.2.10" }],
 *     connection,
 * });
 */
export class EdgeVirtualRouter extends pulumi.ComponentResource {
    /** The decided addresses and context. */
    readonly plan: RouterPlan;
    /** The exported appliance (absent when `appliance.templateId` is used). */
    readonly appliance?: MarketplaceApp;
    /** The virtual router. */
    readonly router: VirtualRouter;
    /** OpenNebula ID of the virtual router. */
    readonly routerId: pulumi.Output<number>;
    /** The appliance's VM template ID. */
    readonly templateId: pulumi.Output<number>;
    /** The router's public address (NIC 0, `eth0`), as OpenNebula leased it. */
    readonly publicIp: pulumi.Output<string>;
    /** The router's private address (NIC 1, `eth1`): the private VMs' gateway. */
    readonly privateIp: pulumi.Output<string>;
    /** The public addresses SDNAT may map, in order. */
    readonly sdnatPublicIps: pulumi.Output<string[]>;
    /** Public address → private address, for every mapping. */
    readonly mapping: pulumi.Output<Record<string, string>>;

    private readonly publicNetworkId: pulumi.Input<number>;
    private readonly privateNetworkId: pulumi.Input<number>;

    constructor(name: string, args: EdgeVirtualRouterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planEdgeVirtualRouter(args);
        super(EDGE_VIRTUAL_ROUTER_TYPE, name, {}, opts);
        this.plan = plan;
        this.publicNetworkId = args.publicNetwork.id;
        this.privateNetworkId = args.privateNetwork.id;
        const connection = args.connection === undefined ? undefined : pulumi.secret(args.connection);

        this.appliance = plan.exportAppliance
            ? createChild(
                  MarketplaceApp,
                  `${name}-appliance`,
                  {
                      appName: args.appliance.appName ?? DEFAULT_APPLIANCE_APP,
                      marketplaceId: args.appliance.marketplaceId,
                      datastoreId: args.appliance.datastoreId!,
                      imageName: args.appliance.imageName ?? `${name}-appliance`,
                      connection,
                  },
                  { parent: this },
                  args.transform?.appliance,
              )
            : undefined;
        this.templateId = this.appliance ? this.appliance.templateId : pulumi.output(args.appliance.templateId!);

        const routerArgs: VirtualRouterArgs = {
            name: args.routerName ?? name,
            nics: [
                { networkId: args.publicNetwork.id, ip: plan.routerPublicIp },
                { networkId: args.privateNetwork.id, ip: plan.routerPrivateIp },
            ],
            templateId: this.templateId,
            context: plan.context,
            vmTemplate: args.vmTemplate,
            runningTimeoutSeconds: args.runningTimeoutSeconds,
            connection,
        };
        this.router = createChild(VirtualRouter, `${name}-vrouter`, routerArgs, { parent: this }, args.transform?.router);
        this.routerId = this.router.oneId;
        // The NICs ask for these exact addresses, so they are also what OpenNebula leased.
        this.publicIp = this.router.ips.apply((ips) => ips?.[0] ?? plan.routerPublicIp);
        this.privateIp = this.router.ips.apply((ips) => ips?.[1] ?? plan.routerPrivateIp);
        this.sdnatPublicIps = pulumi.output(plan.sdnatPublicIps);
        this.mapping = pulumi
            .all(plan.mappings.map((m) => pulumi.output(m.publicIp)))
            .apply((publicIps) => Object.fromEntries(publicIps.map((ip, i) => [ip, plan.mappings[i].privateIp])));
        this.registerOutputs({
            routerId: this.routerId,
            templateId: this.templateId,
            publicIp: this.publicIp,
            privateIp: this.privateIp,
            sdnatPublicIps: this.sdnatPublicIps,
            mapping: this.mapping,
        });
    }

    /**
     * The NIC and NIC alias arguments of the private VM at `privateIp`: NIC 0 on the private network
     * at that address and, when a mapping names it, an external alias of NIC 0 on the public network
     * at its public address — which the appliance's SDNAT then maps 1:1.
     *
     * @throws ConfigError naming `privateIp` when it is the router's own address.
     */
    vmNetworking(privateIp: string): RouterVmNetworking {
        if (privateIp === this.plan.routerPrivateIp)
            throw new ConfigError("privateIp", `${privateIp} is the router's own address (the gateway)`);
        const mapped = this.plan.mappings.find((m) => m.privateIp === privateIp);
        return {
            nics: [{ networkId: this.privateNetworkId, ip: privateIp }],
            nicAliases:
                mapped === undefined ? [] : [{ networkId: this.publicNetworkId, parent: "NIC0", external: true, ip: mapped.publicIp }],
        };
    }
}
