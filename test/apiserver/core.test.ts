/** Core tests over LocalKv, in one process (each test process pays the TypeScript load once). */
import './rest.cases.js';
import './watch.cases.js';
import './server.cases.js';
import './local-kv.cases.js';
import './audit.cases.js';
