#!/usr/bin/env python3
"""
A second, independent world generator for robustness checks of cmdcm (not used by its tests or
its tuning): Tianchi mobile 2014 format, written from a different model of shoppers than
`cmdcm generate`, so that a figure on it says how cmdcm does on a world its authors' generator
did not shape.

What differs from `cmdcm generate` (src/data/generate.ts):
  - browsing in sessions: a session picks a category, then clicks several of its items;
  - items have a price and a promotion discount; a user's deal-waiting ("patience") z acts through
    the discount (z * discount), and shows on ordinary days as a long cart-to-buy delay and a
    habit of collecting before buying, not through more carting in pre-windows;
  - activity drifts over time (a season curve) and new items appear during the log;
  - every probability has another functional form and other constants.
Output: LOG (user_id,item_id,behavior_type,user_geohash,item_category,time), LOG.promos.json and a
truth CSV of the target pre-window's clicks:
  user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed,direct,atc,delayed
with p_transition = P(delayed | click, do(atc)) and the realized labels by the log's semantics.

usage: other-world.py --out LOG --truth TRUTH [--seed S] [--users N] [--items M]
"""
import argparse, json, math
from datetime import date, timedelta
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--truth', required=True)
ap.add_argument('--seed', type=int, default=7)
ap.add_argument('--users', type=int, default=2000)
ap.add_argument('--items', type=int, default=1500)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)

START = date(2014, 10, 20)
PROMOS = [date(2014, 11, 11), date(2014, 12, 12)]
PRE = 10
END = PROMOS[-1]                      # the log ends on the target day (23h)
NDAYS = (END - START).days + 1
sig = lambda x: 1.0 / (1.0 + math.exp(-x))

ncat = 40
cat_pop = rng.dirichlet(np.full(ncat, 0.6))
item_cat = rng.choice(ncat, size=a.items, p=cat_pop)
item_price = rng.lognormal(0.0, 0.8, size=a.items)            # relative price
item_disc = rng.beta(2, 3, size=a.items)                       # promotion discount depth
item_appeal = rng.normal(0, 1, size=a.items)
item_born = np.where(rng.random(a.items) < 0.25, rng.integers(0, NDAYS - 5, size=a.items), 0)
item_ids = rng.choice(np.arange(10_000_000, 400_000_000), size=a.items, replace=False)
cat_ids = rng.choice(np.arange(1000, 15000), size=ncat, replace=False)
user_ids = rng.choice(np.arange(100_000, 150_000_000), size=a.users, replace=False)

def day_of(d):
    return (d - START).days
promo_day = [day_of(p) for p in PROMOS]
def window_of(d):
    for w, pd in enumerate(promo_day):
        if pd - PRE <= d < pd:
            return w
    return -1
season = np.array([1.0 + 0.25 * math.sin(2 * math.pi * d / 23.0) for d in range(NDAYS)])
GEO = 'abcdefghijklmnopqrstuvwxyz0123456789'
_hours = np.r_[np.full(7, 0.01), np.full(12, 0.05), np.full(5, 0.066)]  # night, day, evening
HOUR_P = _hours / _hours.sum()

events = []   # (user, item, beh, day, hour)
truth = []
for u in range(a.users):
    z = rng.normal()                   # patience / deal-waiting
    bud = rng.normal()                 # buying power
    act = rng.gamma(2.0, 0.9)          # sessions per day
    prefs = rng.choice(ncat, size=4, p=cat_pop)
    geo = ''.join(rng.choice(list(GEO), size=6)) if rng.random() < 0.3 else ''
    uev = []
    tr = []
    for d in range(NDAYS):
        w = window_of(d)
        promo = d in promo_day
        rate = act * season[d] * (1.8 if promo else 1.15 if w >= 0 else 1.0)
        for _ in range(rng.poisson(rate)):
            c = prefs[rng.integers(4)] if rng.random() < 0.75 else rng.choice(ncat, p=cat_pop)
            pool = np.flatnonzero((item_cat == c) & (item_born <= d))
            if len(pool) == 0:
                continue
            wts = np.exp(0.7 * item_appeal[pool]); wts /= wts.sum()
            hour = int(rng.choice(24, p=HOUR_P))
            for it in rng.choice(pool, size=min(len(pool), 1 + rng.poisson(1.5)), p=wts):
                it = int(it)
                uev.append((it, 1, d, hour))
                disc, price, app = item_disc[it], item_price[it], item_appeal[it]
                if rng.random() < sig(-4.2 + 0.4 * z + 0.2 * app):
                    uev.append((it, 2, d, min(23, hour + int(rng.integers(0, 3)))))
                if w >= 0:
                    pd = promo_day[w]
                    p_atc = sig(-3.4 + 0.6 * app - 0.25 * math.log(price) + 0.9 * z * disc + 0.2 * bud)
                    p_dir = sig(-3.9 + 0.5 * app + 0.6 * bud - 0.5 * math.log(price) - 0.9 * max(z, 0) * disc)
                    p_t = sig(-3.3 + 1.1 * z + 2.2 * disc - 0.3 * math.log(price) + 0.3 * app)
                    p_t0 = sig(-7.0 + 0.9 * z + 1.5 * disc)
                    direct = rng.random() < p_dir
                    atc = rng.random() < p_atc
                    dc, hc = d, hour
                    if atc:
                        lag = int(rng.exponential(20))
                        dc = min(pd - 1, d + (hour + lag) // 24); hc = (hour + lag) % 24 if dc > d or hour + lag < 24 else 23
                        uev.append((it, 3, dc, hc))
                    if direct:
                        lag = int(rng.exponential(30))
                        db = min(pd - 1, dc + (hc + lag) // 24); hb = (hc + lag) % 24 if db > dc or hc + lag < 24 else 23
                        uev.append((it, 4, db, hb))
                    elif rng.random() < (p_t if atc else p_t0):
                        uev.append((it, 4, pd, int(rng.integers(0, 24))))
                    if w == len(PROMOS) - 1:
                        tr.append((it, d, hour, p_dir, p_atc, (1 - p_dir) * p_t, (1 - p_dir) * (p_atc * p_t + (1 - p_atc) * p_t0)))
                else:
                    # ordinary and promotion days: patient users cart and buy later, more on promotion days
                    if rng.random() < sig(-3.6 + 0.5 * app + 0.2 * bud):
                        lag = int(rng.exponential(6 + 30 * sig(1.5 * z)))
                        dc = d + (hour + lag) // 24
                        if dc < NDAYS:
                            uev.append((it, 3, dc, (hour + lag) % 24))
                            pb = sig(-1.6 + 0.5 * bud - 0.3 * math.log(price) + (1.2 * disc * (1 + max(z, 0)) if promo else -0.4 * z))
                            if rng.random() < pb:
                                lag2 = int(rng.exponential(4 + 40 * sig(1.5 * z)))
                                db = dc + ((hour + lag) % 24 + lag2) // 24
                                if db < NDAYS:
                                    uev.append((it, 4, db, ((hour + lag) % 24 + lag2) % 24))
                    elif rng.random() < sig(-5.5 + 0.4 * bud + (1.0 * disc if promo else 0)):
                        uev.append((it, 4, d, hour))
    uev = [e for e in uev if 0 <= e[2] < NDAYS]
    uev.sort(key=lambda e: (e[2], e[3]))
    for it, b, d, h in uev:
        events.append((u, it, b, d, h, geo if geo and rng.random() < 0.6 else ''))
    tpd = promo_day[-1]
    for it, d, h, pdir, patc, ptr, pdel in tr:
        at = dr = de = 0
        for it2, b, d2, h2 in uev:
            if it2 != it or (d2, h2) < (d, h):
                continue
            if d2 < tpd:
                if b == 3: at = 1
                if b == 4: dr = 1
            elif d2 == tpd and b == 4:
                de = 1
        if dr: de = 0
        truth.append((u, it, d, h, pdir, patc, ptr, pdel, dr, at, de))

order = rng.permutation(len(events))  # the real file is not sorted
ds = lambda d: (START + timedelta(days=d)).isoformat()
with open(a.out, 'w') as f:
    f.write('user_id,item_id,behavior_type,user_geohash,item_category,time\n')
    for k in order:
        u, it, b, d, h, g = events[k]
        f.write(f'{user_ids[u]},{item_ids[it]},{b},{g},{cat_ids[item_cat[it]]},{ds(d)} {h:02d}\n')
with open(a.truth, 'w') as f:
    f.write('user_id,item_id,time,p_direct,p_atc,p_transition,p_delayed,direct,atc,delayed\n')
    for u, it, d, h, pdir, patc, ptr, pdel, dr, at, de in truth:
        f.write(f'{user_ids[u]},{item_ids[it]},{ds(d)} {h:02d},{pdir:.6f},{patc:.6f},{ptr:.6f},{pdel:.6f},{dr},{at},{de}\n')
with open(a.out + '.promos.json', 'w') as f:
    json.dump({'promotions': [{'date': p.isoformat(), 'preDays': PRE} for p in PROMOS], 'target': PROMOS[-1].isoformat()}, f, indent=2)
print(json.dumps({'rows': len(events), 'truthRows': len(truth), 'users': a.users, 'items': a.items}))
