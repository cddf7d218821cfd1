import { main } from './commands.js';

await main(process.argv);
