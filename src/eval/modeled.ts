/** Which tasks a model predicts: the model table decides (src/model/config.ts modeledTasks). */
export { modeledTasks } from '../model/config.js';
