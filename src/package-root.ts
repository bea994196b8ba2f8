import { join } from 'node:path';
import { findPackageRoot } from './config-parse.js';

/** The folder holding Dixie's package.json (the repo, or /app in the image). */
export const PACKAGE_ROOT = findPackageRoot(import.meta.url, 'dixie').dir;
export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');
