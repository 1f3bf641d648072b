/**
 * `nginx` (any tag): static files from /usr/share/nginx/html on the pod IP's port 80, real HTTP,
 * access log on stdout in nginx's combined format. Like the image's /docker-entrypoint.d
 * templating, the default index.html is written at start with the pod's hostname in it (so a
 * Service's answers show which pod served), unless a volume put its own page there. Exits 0 on
 * SIGTERM. `kubectl exec` gets the shell of ./shell.ts (the real image is Debian with a shell).
 */
import type http from 'node:http';
import type { ContainerProcess, Image } from '../image.js';
import { normalizePath } from '../files.js';
import { serveHttp, sendText } from './http-server.js';
import { runShellProcess } from './shell.js';

const nginxVersion = '1.27.3';
const htmlRoot = '/usr/share/nginx/html';
const welcomeMarker = '<!-- pocketkube default page -->';

function welcomePage(hostname: string): string {
  return `<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed and working.</p>\n<p>Served by pod <b>${hostname}</b>.</p>\n${welcomeMarker}\n</body>\n</html>\n`;
}

const contentTypes: Readonly<Record<string, string>> = {
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'application/javascript', json: 'application/json',
  txt: 'text/plain', png: 'image/png', svg: 'image/svg+xml', ico: 'image/x-icon',
};

function errorPage(status: number, title: string): string {
  return `<html>\r\n<head><title>${status} ${title}</title></head>\r\n<body>\r\n<center><h1>${status} ${title}</h1></center>\r\n<hr><center>nginx/${nginxVersion}</center>\r\n</body>\r\n</html>\r\n`;
}

function accessLog(process: ContainerProcess, remote: { host: string }, request: http.IncomingMessage, status: number, bytes: number): void {
  const when = new Date(process.clock.wallNow()).toUTCString();
  process.stdout(`${remote.host} - - [${when}] "${request.method} ${request.url} HTTP/${request.httpVersion}" ${status} ${bytes} "-" "${request.headers['user-agent'] ?? '-'}"\n`);
}

async function serveFile(process: ContainerProcess, request: http.IncomingMessage, response: http.ServerResponse, remote: { host: string }): Promise<void> {
  const headers = { Server: `nginx/${nginxVersion}` };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const page = errorPage(405, 'Not Allowed');
    response.writeHead(405, { ...headers, 'Content-Type': 'text/html' });
    response.end(page);
    accessLog(process, remote, request, 405, page.length);
    return;
  }
  const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
  let path = normalizePath(`${htmlRoot}/${pathname}`);
  if (!path.startsWith(htmlRoot)) path = `${htmlRoot}/index.html`;
  let data = await process.files.readFile(path);
  if (data === undefined && (await process.files.readDir(path)) !== undefined) { path = `${path}/index.html`; data = await process.files.readFile(path); }
  if (data === undefined) {
    const page = errorPage(404, 'Not Found');
    sendText(response, 404, page, 'text/html');
    accessLog(process, remote, request, 404, page.length);
    return;
  }
  const type = contentTypes[path.split('.').pop() ?? ''] ?? 'application/octet-stream';
  response.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': data.length });
  response.end(request.method === 'HEAD' ? undefined : Buffer.from(data));
  accessLog(process, remote, request, 200, data.length);
}

async function templateIndex(process: ContainerProcess): Promise<void> {
  const path = `${htmlRoot}/index.html`;
  const current = await process.files.readFile(path);
  // Only the image's own page is templated: a mounted or written index.html is the user's.
  if (current === undefined || Buffer.from(current).toString('utf8') !== nginxImage.files![path]) return;
  await process.files.writeFile(path, Buffer.from(welcomePage(process.hostname), 'utf8'));
}

export const nginxImage: Image = {
  repository: 'nginx',
  entrypoint: ['/docker-entrypoint.sh'],
  cmd: ['nginx', '-g', 'daemon off;'],
  files: {
    [`${htmlRoot}/index.html`]: welcomePage('$HOSTNAME'),
    [`${htmlRoot}/50x.html`]: errorPage(500, 'Internal Server Error'),
  },
  run: async (process) => {
    const argv = process.argv[0]?.endsWith('docker-entrypoint.sh') === true ? process.argv.slice(1) : process.argv;
    // The entrypoint runs any other command as given (`command: [sh, -c, ...]` on an nginx image).
    if (argv[0]?.split('/').pop() !== 'nginx') return runShellProcess({ ...process, argv });
    await templateIndex(process);
    process.stdout('/docker-entrypoint.sh: Configuration complete; ready for start up\n');
    await serveHttp(process, 80, (request, response, remote) => serveFile(process, request, response, remote));
    process.stdout('signal 15 (SIGTERM) received, exiting\n');
    return 0;
  },
  exec: runShellProcess,
};
