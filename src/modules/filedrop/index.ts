/** The SFTP file drop's face: the server and the port the batch intake implements (decision 0039). */
export {
  type FileDrop,
  type FileDropEntry,
  type FileDropOptions,
  type FileDropPort,
  type FileDropUser,
  startFileDrop,
} from './server.js';
