/** Functions host entry (package.json "main"): app setup first, then the function registrations. */
import './setup.js';
import './functions/timer.js';
import './functions/servicehook.js';
import './functions/status.js';
import './functions/reconcile-queue.js';
