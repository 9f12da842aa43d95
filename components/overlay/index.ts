// The overlay: pure renderers and checks (MTU, addressing, WireGuard, FRR, EVPN network, VXLAN
// device, validation) and the components built on them (WireGuardMesh, EvpnFabric,
// EvpnPrivateNetwork). Re-exports only.
export * from "./addressing";
export * from "./evpn-network";
export * from "./frr-config";
export * from "./mtu";
export * from "./validation";
export * from "./vxlan-device";
export * from "./wireguard-config";
export * from "./wireguard-mesh";
export * from "./evpn-fabric";
export * from "./evpn-private-network";
