// Public API of pulumi-opennebula-edge. Each concern is also importable on its own subpath
// ("pulumi-opennebula-edge/opennebula", "/edge", "/overlay", "/router"). The cloud components live only on
// their own subpaths ("pulumi-opennebula-edge/clouds/aws" …) so that a user of one cloud never has
// to install the SDKs of the others.
export * as opennebula from "./opennebula";
export * as edge from "./edge";
export * as overlay from "./overlay";
export { EdgeCluster, EdgeClusterArgs, EdgeHost } from "./edge";
export { EvpnFabric, EvpnPrivateNetwork, WireGuardMesh } from "./overlay";
export * as router from "./router";
export { EdgeVirtualRouter } from "./router";
