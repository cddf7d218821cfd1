/** An issuer route of the JD e-card type over signed REST, to a closed port: for admin API suites. */
export function jdRestRoute(appSecret: string) {
  return {
    card_type: 'jd_ecard',
    issuer: 'jd',
    protocol: 'rest',
    endpoint: 'http://127.0.0.1:9',
    priority: 1,
    capacity_per_minute: 100,
    app_id: 'app-1',
    app_secret: appSecret,
  };
}
