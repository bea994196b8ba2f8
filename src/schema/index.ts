import { builder } from './builder.js';
import './health.js';
import '../resolvers/health.js';
import './viewer.js';
import '../resolvers/viewer.js';
import './auth.js';
import '../resolvers/auth.js';
import './allowlist.js';
import '../resolvers/allowlist.js';
import './chat.js';
import '../resolvers/chat.js';
import './agent.js';
import '../resolvers/agent.js';
import '../resolvers/schedule.js';
import '../resolvers/autonomous.js';
import '../resolvers/reputation.js';

export const schema = builder.toSchema();
