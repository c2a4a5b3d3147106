/** Must be evaluated before any function registers (ES imports run in order). */
import { app } from '@azure/functions';

app.setup({ enableHttpStream: false });
