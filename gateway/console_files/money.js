// Money is integer fen everywhere (W-1); these turn it into yuan with two decimals and back,
// and repeat the wallet's pricing rules (services/wallet/pricing.py) so the cashier sees the
// discount and the split before confirming. The wallet's answer is what the receipt shows.

const BP = 10000;

/** 123456 -> "¥1,234.56"; negative amounts keep their sign before the symbol. */
export function yuan(fen) {
  const value = Number(fen) || 0;
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}¥${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** "1000", "1,000.5", "12.34" -> fen; null if it is not an amount (no floats on the way). */
export function parseYuan(text) {
  const match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(String(text).replace(/[,，¥]/g, ''));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
}

/** amount * bp / 10000, rounded half-up to the fen (pricing.half_up). */
export function halfUp(amount, bp) {
  return Math.floor((amount * bp * 2 + BP) / (2 * BP));
}

export function discountBp(tier, category) {
  const overrides = tier.category_discounts || {};
  return Number(category in overrides ? overrides[category] : tier.default_discount_bp || 0);
}

/** "10% off" as the Chinese say it: 1000 bp -> "9折", 1500 -> "8.5折". */
export function zhe(bp) {
  if (!bp) return '无折扣';
  return `${((BP - bp) / 1000).toFixed(2).replace(/\.?0+$/, '')}折`;
}

/** W-4: each line discounted by the tier (rounded per line), then paid cash -> bonus -> credit. */
export function previewConsume(lines, tier, balances, allowCredit) {
  const priced = lines.map((line) => {
    const gross = line.quantity * line.unit_price;
    const bp = discountBp(tier, line.category);
    const discount = halfUp(gross, bp);
    return { ...line, gross, discount_bp: bp, discount, net: gross - discount };
  });
  const gross = priced.reduce((sum, l) => sum + l.gross, 0);
  const discount = priced.reduce((sum, l) => sum + l.discount, 0);
  const due = gross - discount;
  let left = due;
  const take = (available) => {
    const part = Math.min(left, Math.max(0, available));
    left -= part;
    return part;
  };
  const split = {
    cash: take(balances.cash),
    bonus: take(balances.bonus),
    credit: allowCredit ? take(balances.credit_available) : 0,
  };
  return { lines: priced, gross, discount, due, split, remainder: left };
}

/** W-3: the rule with the highest threshold reached applies, a fixed bonus or a rate. */
export function rechargeBonus(amount, rules) {
  const reached = (rules || []).filter((r) => r.threshold <= amount);
  if (!reached.length) return 0;
  const rule = reached.reduce((a, b) => (b.threshold > a.threshold ? b : a));
  if (rule.bonus_fixed !== null && rule.bonus_fixed !== undefined) return rule.bonus_fixed;
  return halfUp(amount, rule.bonus_rate_bp || 0);
}
