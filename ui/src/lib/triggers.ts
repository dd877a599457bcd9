export const defaultDescription = (trigger: { type: string }): string =>
  `Manual test of ${trigger.type} trigger`;
