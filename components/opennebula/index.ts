// The OpenNebula layer: XML-RPC client, template codec and the dynamic resources built on them.
export * from "./client";
export * from "./connection";
export * from "./errors";
export * from "./template";
export * as OneStates from "./states";
export { OneRelease } from "./drivers";
export { CREATION_TOKEN } from "./objects";
export { Cluster, ClusterArgs, clusterProvider } from "./resources/cluster";
export {
    ClusterMembership,
    ClusterMembershipArgs,
    MEMBER_KINDS,
    MemberKind,
    clusterMembershipProvider,
} from "./resources/cluster-membership";
export { Datastore, DatastoreArgs, DatastoreType, DATASTORE_TYPES, DS_MADS, TM_MADS, datastoreProvider } from "./resources/datastore";
export { Host, HostArgs, HostState, HOST_DRIVERS, HOST_STATES, hostProvider } from "./resources/host";
export { AR_TYPES, VN_MADS } from "./resources/address-ranges";
export { ConnectionArgs, PartialStateError } from "./resources/provider-kit";
export { ResourceClass, dynamicProviderOf } from "./resources/define";
export { TemplateArgValue, TemplateArgs } from "./resources/resource-options";
export { AddressRangeInput, VirtualNetwork, VirtualNetworkArgs, virtualNetworkProvider } from "./resources/virtual-network";
export { VirtualNetworkTemplate, VirtualNetworkTemplateArgs, vnTemplateProvider } from "./resources/vn-template";
export { MarketplaceApp, MarketplaceAppArgs, marketplaceAppProvider } from "./resources/marketplace-app";
export {
    VirtualMachine,
    VirtualMachineArgs,
    VirtualMachineNicArgs,
    VirtualMachineNicAliasArgs,
    VmNicAliasOutput,
    VmNicOutput,
    VmPortForwardQuery,
    virtualMachineProvider,
    vmPortForward,
} from "./resources/virtual-machine";
export { RouterVmOutput, VirtualRouter, VirtualRouterArgs, VirtualRouterNicArgs, virtualRouterProvider } from "./resources/virtual-router";
