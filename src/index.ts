/** Functions host entry (package.json "main"): app setup and the function registrations. */
import { app } from '@azure/functions';

app.setup({ enableHttpStream: false });

import './functions/timer.js';
