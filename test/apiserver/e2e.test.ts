/** End-to-end tests over real HTTPS (kubectl, the adapter, the front door), in one process. */
import './kubectl.cases.js';
import './https.cases.js';
import './ha.cases.js';
import './metrics.cases.js';
import './kinds.cases.js';
