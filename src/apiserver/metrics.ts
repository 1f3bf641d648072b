/** Prometheus text exposition of the apiserver's request counters, latency histogram and watcher gauge. */

const durationBucketsSeconds: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Distinct label sets kept; beyond it new combinations are folded into resource="other" (fuzzed paths must not grow memory). */
const maxMetricSeries = 2_000;

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class ApiMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  registeredWatchers = 0;

  observe(verb: string, resource: string, code: number, seconds: number): void {
    const rkey = `${verb}\u0000${resource}\u0000${code}`;
    const reqKey = this.requests.has(rkey) || this.requests.size < maxMetricSeries ? rkey : `${verb}\u0000other\u0000${code}`;
    this.requests.set(reqKey, (this.requests.get(reqKey) ?? 0) + 1);
    const dkey0 = `${verb}\u0000${resource}`;
    const dkey = this.durations.has(dkey0) || this.durations.size < maxMetricSeries ? dkey0 : `${verb}\u0000other`;
    let h = this.durations.get(dkey);
    if (h === undefined) {
      h = { counts: durationBucketsSeconds.map(() => 0), sum: 0, count: 0 };
      this.durations.set(dkey, h);
    }
    durationBucketsSeconds.forEach((b, i) => { if (seconds <= b) h.counts[i]! += 1; });
    h.sum += seconds;
    h.count += 1;
  }

  requestCount(verb: string, resource: string, code: number): number {
    return this.requests.get(`${verb}\u0000${resource}\u0000${code}`) ?? 0;
  }

  render(): string {
    const out: string[] = [
      '# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, resource and HTTP response code.',
      '# TYPE apiserver_request_total counter',
    ];
    for (const [k, n] of this.requests) {
      const [verb, resource, code] = k.split('\u0000');
      out.push(`apiserver_request_total{code="${esc(code!)}",resource="${esc(resource!)}",verb="${esc(verb!)}"} ${n}`);
    }
    out.push('# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb and resource.',
      '# TYPE apiserver_request_duration_seconds histogram');
    for (const [k, h] of this.durations) {
      const [verb, resource] = k.split('\u0000');
      const labels = `resource="${esc(resource!)}",verb="${esc(verb!)}"`;
      durationBucketsSeconds.forEach((b, i) => out.push(`apiserver_request_duration_seconds_bucket{${labels},le="${b}"} ${h.counts[i]!}`));
      out.push(`apiserver_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      out.push(`apiserver_request_duration_seconds_sum{${labels}} ${h.sum}`);
      out.push(`apiserver_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    out.push('# HELP apiserver_registered_watchers Number of currently registered watchers.', '# TYPE apiserver_registered_watchers gauge',
      `apiserver_registered_watchers ${this.registeredWatchers}`);
    return `${out.join('\n')}\n`;
  }
}
