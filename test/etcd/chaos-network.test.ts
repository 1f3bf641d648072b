import { sweep } from './sweep.js';

sweep(['isolate-leader', 'isolate-follower-until-snapshot', 'delay-peers', 'drop-50', 'watch-across-partition']);
