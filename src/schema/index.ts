import { builder } from './builder.js';
import './health.js';
import '../resolvers/health.js';

export const schema = builder.toSchema();
