// lvsd's own top-level blocks (not in keepalived): see README "lvsd additions".

export const lvsdKeywords = {};
