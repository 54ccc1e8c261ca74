// VRRP: vrrp_script, vrrp_sync_group, garp_group, vrrp_instance (keepalived.conf(5), "VRRPD
// CONFIGURATION").

export const vrrpKeywords = {};
