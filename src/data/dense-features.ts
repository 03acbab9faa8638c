/**
 * The dense features of a sample (DESIGN.md "Model"): user, user x item and item statistics, each
 * computed from events strictly before the click. Counts are log1p-scaled; rates are smoothed.
 * `DENSE` gives each feature's column by name, so the builder writes them by name, not by order.
 */
export const DENSE_FEATURES = [
  'u_win_click', 'u_win_collect', 'u_win_cart', 'u_win_buy', // user, current pre-window so far
  'u_hist_click', 'u_hist_collect', 'u_hist_cart', 'u_hist_buy', // user, earlier promotions' pre-windows
  'u_hist_cart_promo_buy_rate', // items the user carted in earlier pre-windows and bought on that promotion day (smoothed)
  'u_has_hist', // the user was active in an earlier pre-window (0/1)
  'ui_win_click', 'ui_win_carted', // this user on this item, current pre-window so far
  'i_click', 'i_cart_rate', 'i_buy_rate', 'i_promo_buy', // item popularity, all users, days before the click's day (i_click: clicks per week since the log's first day)
  'days_to_promo_frac', // days to the promotion / pre-window length
] as const;

// Smoothing priors (pseudo-counts): keep rates of rarely seen users/items near a typical value.
export const USER_CONV_PRIOR = 0.2, USER_CONV_STRENGTH = 2;
export const ITEM_CART_PRIOR = 0.05, ITEM_BUY_PRIOR = 0.01, ITEM_STRENGTH = 10;

// log1p of small counts by table: the feature loop computes ~10 per sample
const LOG1P = Float64Array.from({ length: 4096 }, (_, i) => Math.log1p(i));
export function log1pInt(x: number): number {
  return x < 4096 ? LOG1P[x] : Math.log1p(x);
}

/** Column of each dense feature in `Schema.dense` (and in a sample's dense row). */
export const DENSE = Object.freeze(Object.fromEntries(DENSE_FEATURES.map((n, i) => [n, i]))) as { readonly [K in (typeof DENSE_FEATURES)[number]]: number };
